"""Celery tasks and mrqcore tasks side by side, in both directions."""
from __future__ import annotations

import pytest

from mrqcore.job import Job, queue_job
from mrqc import AsyncResult


def test_queue_job_runs_a_celery_task(app, compat_worker):
    from tests.compat.proj_tasks import add  # noqa: F401 - registers the name in this process
    compat_worker()
    job_id = queue_job("tests.compat.proj_tasks.add", {"args": [1, 2]})
    assert Job(job_id).wait(timeout=20) == 3
    job = Job(job_id).fetch()
    assert job.queue == "compat"  # the task's Celery queue, found through the registry
    assert job.params == {"args": [1, 2]}
    assert AsyncResult(job_id, app=app).get(timeout=5) == 3
    kw = queue_job("tests.compat.proj_tasks.add", {"kwargs": {"x": 5, "y": 6}})
    assert Job(kw).wait(timeout=20) == 11


def test_queue_job_with_bad_params_fails_clearly(app, compat_worker):
    compat_worker()
    job_id = queue_job("tests.compat.proj_tasks.add", {"x": 1}, queue="compat")
    result = AsyncResult(job_id, app=app)
    from mrqc.exceptions import InvalidTaskError
    with pytest.raises(InvalidTaskError, match="args"):
        result.get(timeout=20)


def test_send_task_to_an_mrqcore_task(app, compat_worker):
    compat_worker()
    result = app.send_task("tests.tasks.basic.Add", kwargs={"a": 1, "b": 2})
    assert result.get(timeout=20) == 3
    job = Job(result.id).fetch()
    assert job.params == {"a": 1, "b": 2} and job.queue == "default"
    with pytest.raises(TypeError, match="params dict"):
        app.send_task("tests.tasks.basic.Add", args=(1, 2))


def test_send_task_by_name_to_a_celery_task(app, compat_worker):
    compat_worker()
    assert app.send_task("tests.compat.proj_tasks.mul", args=(6, 7)).get(timeout=20) == 42
    result = app.send_task("tests.compat.proj_tasks.routed", args=(1,))
    assert result.get(timeout=20) == 1 and Job(result.id).fetch().queue == "compat-routed"


def test_mrqcore_failure_reads_as_celery_failure(app, compat_worker):
    compat_worker()
    result = app.send_task("tests.tasks.basic.Fail", kwargs={"message": "core says no"})
    with pytest.raises(ValueError, match="core says no"):
        result.get(timeout=20)
