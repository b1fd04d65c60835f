"""Celery's own pytest fixtures: a test app and an in-process worker (celery.contrib.pytest)."""
import pytest


def test_task_defined_in_the_test(celery_app, celery_worker):
    @celery_app.task
    def mul(x, y):
        return x * y

    celery_worker.reload()
    assert mul.delay(6, 7).get(timeout=10) == 42


def test_failure_in_the_test_worker(celery_app, celery_worker):
    @celery_app.task
    def boom():
        raise KeyError("missing")

    celery_worker.reload()
    result = boom.delay()
    with pytest.raises(KeyError):
        result.get(timeout=10)
    assert result.state == "FAILURE"
