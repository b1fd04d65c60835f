"""Each of the ten statuses, reached through the public API and a real worker process."""
from __future__ import annotations

import signal

from mrqcore.job import FINAL_STATUSES, STATUSES, Job, queue_job
from tests.conftest import wait_for


def _key(runtime, name):
    return runtime.config.redis_prefix + "test:" + name


def _started(runtime, job_id):
    return lambda: job_id in runtime.store.client.lrange(_key(runtime, "started"), 0, -1)


def _open_gate(runtime, gate, n=1):
    runtime.store.client.rpush(_key(runtime, "gate:" + gate), *["go"] * n)


def test_all_ten_statuses_are_declared():
    assert set(STATUSES) == {"queued", "started", "success", "failed", "cancel", "abort",
                             "interrupt", "timeout", "retry", "maxretries"}
    assert FINAL_STATUSES < set(STATUSES)


def test_queued_started_success(runtime, start_worker):
    job_id = queue_job("tests.tasks.basic.Sleep", {"gate": "g1"})
    assert Job(job_id).fetch().status == "queued"
    worker = start_worker("--greenlets", "2")
    wait_for(_started(runtime, job_id), message="job started")
    job = Job(job_id).fetch()
    assert job.status == "started"
    assert job.worker and job.datestarted is not None and job.datedone is None
    assert job_id in runtime.store.inflight(job.worker)
    _open_gate(runtime, "g1")
    assert Job(job_id).wait(timeout=20) == "slept"
    job = Job(job_id).fetch()
    assert job.status == "success" and job.result == "slept"
    assert job.datedone >= job.datestarted >= job.datequeued
    assert job.progress == 1.0
    assert job_id not in runtime.store.inflight(job.worker)
    ttl = runtime.store.client.ttl(runtime.keys.job(job_id))
    assert 0 < ttl <= runtime.config.result_ttl
    worker.signal(signal.SIGINT)
    assert worker.wait() == 0


def test_success_result_and_log_lines(runtime, run_burst):
    job_id = queue_job("tests.tasks.basic.Add", {"a": 2, "b": 3})
    run_burst()
    job = Job(job_id).fetch()
    assert (job.status, job.result, job.traceback) == ("success", 5, None)
    assert any("adding 2 and 3" in line for line in job.log_lines)


def test_failed_stores_traceback_and_type(runtime, run_burst):
    job_id = queue_job("tests.tasks.basic.Fail", {"message": "kaput"})
    run_burst()
    job = Job(job_id).fetch()
    assert job.status == "failed"
    assert job.exceptiontype == "ValueError"
    assert "ValueError: kaput" in job.traceback and "tests/tasks/basic.py" in job.traceback
    assert job.datedone is not None and job.result is None
    assert [h["status"] for h in job.traceback_history] == ["failed"]
    assert 0 < runtime.store.client.ttl(runtime.keys.job(job_id)) <= runtime.config.default_ttl


def test_cancel_started_job_is_not_interrupted(runtime, start_worker):
    job_id = queue_job("tests.tasks.basic.Sleep", {"gate": "c1"})
    start_worker()
    wait_for(_started(runtime, job_id), message="job started")
    assert Job(job_id).cancel() == "started"
    assert Job(job_id).fetch().cancel_requested is not None
    _open_gate(runtime, "c1")
    wait_for(lambda: Job(job_id).fetch().status == "success", message="job finished anyway")
    assert job_id in runtime.store.client.lrange(_key(runtime, "finished"), 0, -1)


def test_abort(runtime, run_burst):
    job_id = queue_job("tests.tasks.basic.Abort", {})
    run_burst()
    job = Job(job_id).fetch()
    assert job.status == "abort"
    assert job.exceptiontype == "mrqcore.exceptions.AbortInterrupt"
    assert job.datedone is not None and job.retry_count == 0
    assert 0 < runtime.store.client.ttl(runtime.keys.job(job_id)) <= runtime.config.abort_ttl


def test_interrupt_on_sigterm(runtime, start_worker):
    job_id = queue_job("tests.tasks.basic.Sleep", {"gate": "never"})
    worker = start_worker()
    wait_for(_started(runtime, job_id), message="job started")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    job = Job(job_id).fetch()
    assert job.status == "interrupt"
    assert job.exceptiontype == "mrqcore.exceptions.WorkerInterrupt"
    assert "blpop" in job.traceback  # where it was when interrupted
    assert job.datedone is not None
    assert runtime.store.inflight(job.worker) == []


def test_timeout_kills_the_job_and_stores_where_it_was(runtime, run_burst):
    job_id = queue_job("tests.tasks.basic.Spin", {"seconds": 60})
    other = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 1})
    run_burst("--greenlets", "2")
    job = Job(job_id).fetch()
    assert job.status == "timeout"
    assert job.exceptiontype == "mrqcore.exceptions.JobTimeoutInterrupt"
    assert "gevent.sleep" in job.traceback and "Spin" not in (job.result or "")
    assert job.datedone is not None
    assert Job(other).fetch().status == "success"


def test_retry_then_runs_again_on_the_given_queue(runtime, start_worker):
    job_id = queue_job("tests.tasks.basic.Retry",
                       {"succeed_after": 1, "delay": 0.5, "queue": "second", "max_retries": 3}, queue="first")
    start_worker("first", "second")
    assert Job(job_id).wait(timeout=20) == 1
    job = Job(job_id).fetch()
    assert job.status == "success" and job.retry_count == 1
    seen = runtime.store.client.lrange(_key(runtime, "retry-seen:" + job_id), 0, -1)
    assert seen == ["first:0", "second:1"]
    assert [h["status"] for h in job.traceback_history] == ["retry"]


def test_retry_status_while_waiting(runtime, run_burst):
    job_id = queue_job("tests.tasks.basic.Retry", {"delay": 3600})
    run_burst()
    job = Job(job_id).fetch()
    assert job.status == "retry"
    assert job.retry_count == 1
    assert job.datedone is None
    assert runtime.store.client.zscore(runtime.keys.scheduled, job_id) is not None
    assert runtime.store.client.ttl(runtime.keys.job(job_id)) == -1  # a waiting job never expires


def test_maxretries(runtime, run_burst):
    job_id = queue_job("tests.tasks.basic.Retry", {"delay": 0, "max_retries": 2})
    run_burst()
    job = Job(job_id).fetch()
    assert job.status == "maxretries"
    assert job.retry_count == 2
    assert job.datedone is not None
    assert [h["status"] for h in job.traceback_history] == ["retry", "retry", "maxretries"]
    seen = runtime.store.client.lrange(_key(runtime, "retry-seen:" + job_id), 0, -1)
    assert len(seen) == 3


def test_default_max_retries_from_config(runtime, config_values, run_burst):
    job_id = queue_job("tests.tasks.basic.Retry", {"delay": 0})
    run_burst(env={"MRQC_MAX_RETRIES": "1"})
    job = Job(job_id).fetch()
    assert (job.status, job.retry_count) == ("maxretries", 1)


def test_interrupts_get_through_except_exception(runtime, run_burst):
    retried = queue_job("tests.tasks.basic.SwallowAll", {"delay": 3600})
    aborted = queue_job("tests.tasks.basic.SwallowAll", {"do": "abort"})
    run_burst()
    assert Job(retried).fetch().status == "retry"
    assert Job(aborted).fetch().status == "abort"
