"""Celery's documented fixture usage, unchanged except for the plugin line in conftest.py."""
import pytest
from mrqc.exceptions import Retry  # noqa: F401 - the exceptions module is where Celery users find it


def test_create_task(celery_app, celery_worker):
    @celery_app.task
    def mul(x, y):
        return x * y

    celery_worker.reload()
    assert mul.delay(4, 4).get(timeout=10) == 16


def test_failure_and_states(celery_app, celery_worker):
    @celery_app.task
    def boom():
        raise ValueError("nope")

    result = boom.delay()
    with pytest.raises(ValueError):
        result.get(timeout=10)
    assert result.state == "FAILURE"


def test_retry_runs_in_the_worker(celery_app, celery_worker):
    attempts = []

    @celery_app.task(bind=True, max_retries=3)
    def flaky(self):
        attempts.append(self.request.retries)
        if self.request.retries < 2:
            raise self.retry(countdown=0)
        return "ok"

    assert flaky.delay().get(timeout=10) == "ok"
    assert attempts == [0, 1, 2]  # the worker runs in this process: the list is shared


def test_includes_are_imported(celery_app, celery_worker):
    from fixture_tasks import shout
    assert celery_app.tasks  # the app is usable
    assert shout.delay("hi").get(timeout=10) == "HI!"


@pytest.mark.celery(task_always_eager=True)
def test_marker_overrides_config(celery_app):
    assert celery_app.conf.task_always_eager is True

    @celery_app.task
    def add(x, y):
        return x + y

    assert add.delay(2, 3).get(timeout=5) == 5


def test_each_app_has_its_own_keys(celery_app):
    assert celery_app.runtime.config.redis_prefix.startswith("mrqc-test-")


def test_session_worker(celery_session_app, celery_session_worker):
    @celery_session_app.task
    def square(x):
        return x * x

    assert square.delay(7).get(timeout=10) == 49
