"""The job API: queue_job, queue_jobs, get_job_result, Job; bad input loses nothing."""
from __future__ import annotations

import datetime

import pytest

from mrqcore.exceptions import JobNotFoundError, SerializationError, WaitTimeoutError
from mrqcore.job import Job, get_job_result, queue_job, queue_jobs


def test_queue_job_writes_a_queued_record(runtime):
    job_id = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 2})
    job = Job(job_id).fetch()
    assert job.status == "queued"
    assert job.path == "tests.tasks.basic.Add"
    assert job.params == {"a": 1, "b": 2}
    assert job.queue == "default"
    assert job.retry_count == 0
    assert isinstance(job.datequeued, datetime.datetime)
    assert runtime.store.queue_size("default") == 1
    assert get_job_result(job_id) == {"status": "queued", "result": None}


def test_queue_defaults_to_task_config_then_default(runtime, config_values):
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime
    rt = Runtime(Config({**config_values, "tasks": {"tests.tasks.basic.Echo": {"queue": "echoes"}}}))
    assert Job(queue_job("tests.tasks.basic.Echo", {}, runtime=rt), rt).fetch().queue == "echoes"
    assert Job(queue_job("tests.tasks.basic.Spin", {}, runtime=rt), rt).fetch().queue == "default"
    assert Job(queue_job("tests.tasks.basic.Echo", {}, queue="other", runtime=rt), rt).fetch().queue == "other"


def test_queue_jobs_returns_ids_in_order_and_batches(runtime):
    ids = queue_jobs("tests.tasks.basic.Echo", [{"i": i} for i in range(25)], queue="bulk", batch_size=10)
    assert len(ids) == len(set(ids)) == 25
    assert runtime.store.client.lrange(runtime.keys.queue("bulk"), 0, -1) == ids
    assert [Job(i).fetch().params["i"] for i in ids[:3]] == [0, 1, 2]


@pytest.mark.parametrize("params, where", [
    ({"when": {1, 2}}, "params['when']"),
    ({"nested": {"deep": [1, object()]}}, "params['nested']['deep'][1]"),
    ({1: "int key"}, "params key 1"),
    ({"nan": float("nan")}, "params['nan']"),
    ({"big": 2 ** 70}, "params['big']"),
])
def test_unserializable_params_refused_and_nothing_queued(runtime, params, where):
    with pytest.raises(SerializationError) as info:
        queue_job("tests.tasks.basic.Echo", params)
    assert where in str(info.value)
    assert runtime.store.queue_size("default") == 0
    assert list(runtime.store.iter_ids()) == []


def test_one_bad_params_in_a_batch_queues_none(runtime):
    params = [{"ok": 1}, {"ok": 2}, {"bad": datetime.datetime.now()}]
    with pytest.raises(SerializationError, match=r"params_list\[2\]\['bad'\] is a datetime"):
        queue_jobs("tests.tasks.basic.Echo", params)
    assert runtime.store.queue_size("default") == 0


def test_params_must_be_a_dict(runtime):
    with pytest.raises(SerializationError, match="params must be a dict"):
        queue_job("tests.tasks.basic.Echo", [1, 2])


def test_unknown_job(runtime):
    with pytest.raises(JobNotFoundError, match="nope"):
        get_job_result("nope")
    with pytest.raises(JobNotFoundError):
        Job("nope").fetch()
    assert Job("nope").exists is False


def test_same_job_id_is_never_queued_twice(runtime):
    first = queue_job("tests.tasks.basic.Echo", {"n": 1}, job_id="fixed-id")
    again = queue_job("tests.tasks.basic.Echo", {"n": 2}, job_id="fixed-id")
    assert first == again == "fixed-id"
    assert runtime.store.queue_size("default") == 1
    assert Job("fixed-id").fetch().params == {"n": 1}


def test_wait_times_out_without_touching_the_job(runtime):
    job_id = queue_job("tests.tasks.basic.Echo", {})
    with pytest.raises(WaitTimeoutError):
        Job(job_id).wait(timeout=0.2, poll_interval=0.05)
    assert Job(job_id).fetch().status == "queued"


def test_cancel_queued_job_never_runs(runtime, run_burst):
    cancelled = queue_job("tests.tasks.basic.RecordOrder", {"name": "cancelled"})
    kept = queue_job("tests.tasks.basic.RecordOrder", {"name": "kept"})
    assert Job(cancelled).cancel() == "queued"
    job = Job(cancelled).fetch()
    assert job.status == "cancel" and job.datedone is not None
    assert 0 < runtime.store.client.ttl(runtime.keys.job(cancelled)) <= runtime.config.cancel_ttl
    run_burst()
    assert runtime.store.client.lrange(runtime.config.redis_prefix + "test:order", 0, -1) == ["kept"]
    assert Job(cancelled).fetch().status == "cancel"
    assert Job(kept).fetch().status == "success"


def test_requeue_a_failed_job_keeps_history(runtime, run_burst):
    job_id = queue_job("tests.tasks.basic.Fail", {"message": "first"})
    run_burst()
    assert Job(job_id).fetch().status == "failed"
    assert Job(job_id).requeue(note="operator retry") == "failed"
    job = Job(job_id).fetch()
    assert job.status == "queued"
    assert job.requeue_history[-1]["from_status"] == "failed"
    assert job.requeue_history[-1]["note"] == "operator retry"
    assert runtime.store.client.ttl(runtime.keys.job(job_id)) == -1  # no longer expiring
    run_burst()
    job = Job(job_id).fetch()
    assert job.status == "failed"
    assert len(job.traceback_history) == 2
