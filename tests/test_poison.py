"""Poison records and stray keys (issue 9, items 3-8): each fails only itself, never a worker or recovery.

Each test plants what a hostile user, another program or a corrupted write could leave
in Redis, with a plain client of its own, then checks that the worker keeps serving, the
other jobs are not touched, and the bad thing is visible (a failed job naming the
problem) or set aside with its data kept.
"""
from __future__ import annotations

import time

import pytest
import redis as redis_lib

from mrqcore.job import Job, queue_job, queue_jobs
from mrqcore.maintenance import recover
from tests.conftest import wait_for

ADD = "tests.tasks.basic.Add"


@pytest.fixture
def raw(redis_url):
    """A Redis client of the test's own: decoded where text, bytes where the test plants bytes."""
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def raw_bytes(redis_url):
    client = redis_lib.Redis.from_url(redis_url)
    yield client
    client.close()


def _finished(job_ids):
    return [Job(i).fetch(("status", "result")).status for i in job_ids]


def test_wrong_type_job_key_in_a_batch_fails_alone(runtime, raw, prefix, run_burst):
    # item 3: a non-hash job key among the ids of one dequeue batch
    before = queue_jobs(ADD, [{"a": 1, "b": 1}] * 3, queue="mixed")
    raw.set(f"{prefix}job:stray", "foo")
    raw.rpush(f"{prefix}q:mixed", "stray")
    after = queue_jobs(ADD, [{"a": 2, "b": 2}] * 3, queue="mixed")
    run_burst("mixed", "--greenlets", "10")
    assert _finished(before + after) == ["success"] * 6
    assert raw.llen(f"{prefix}q:mixed") == 0
    job = Job("stray").fetch(("status", "exceptiontype", "traceback"))
    assert job.status == "failed"
    assert job.exceptiontype == "mrqcore.exceptions.MalformedJobError"
    assert "not a hash" in job.traceback
    # the data that was there is kept, set aside
    assert raw.get(f"{prefix}quarantine:job:stray") == "foo"


def test_non_utf8_field_fails_that_job_only(runtime, raw, raw_bytes, prefix, run_burst):
    # item 4: a byte that is not UTF-8 in a record field
    good = queue_jobs(ADD, [{"a": 3, "b": 3}] * 3, queue="bytes")
    raw_bytes.hset(f"{prefix}job:badbytes".encode(), mapping={
        b"path": ADD.encode(), b"params": b'{"a": 1, "b": "caf\xe9"}', b"status": b"queued",
        b"queue": b"bytes", b"retry_count": b"0"})
    raw.lpush(f"{prefix}q:bytes", "badbytes")
    run_burst("bytes", "--greenlets", "10")
    assert _finished(good) == ["success"] * 3
    job = Job("badbytes").fetch(("status", "exceptiontype", "traceback"))
    assert job.status == "failed"
    assert job.exceptiontype == "mrqcore.exceptions.MalformedJobError"
    assert "params" in job.traceback


def test_task_module_raising_systemexit_fails_the_job(runtime, run_burst):
    # item 5: importing the named module raises SystemExit (unittest.__main__ does)
    bad = queue_job("unittest.__main__.TestProgram", {}, queue="exit")
    good = queue_jobs(ADD, [{"a": 4, "b": 4}] * 2, queue="exit")
    run_burst("exit")
    job = Job(bad).fetch(("status", "exceptiontype", "traceback"))
    assert job.status == "failed"
    assert job.exceptiontype == "mrqcore.exceptions.TaskError"
    assert "raised SystemExit" in job.traceback
    assert _finished(good) == ["success"] * 2


def test_stray_inflight_key_does_not_stop_recovery(config_values, runtime, raw, prefix):
    # item 6: a key under inflight: that is not a zset
    raw.set(f"{prefix}inflight:garbage", "x")
    job_id = queue_job(ADD, {"a": 5, "b": 5}, queue="lostq")
    # A worker that took the job and died long ago (no heartbeat for a day).
    [(taken, _)] = runtime.store.dequeue("ghost", ["lostq"], 1, time.time())
    assert taken == job_id
    raw.zadd(f"{prefix}workers", {"ghost": time.time() - 86400})
    report = recover(runtime, full=True)
    assert job_id in report.requeued_lost
    assert Job(job_id).fetch(("status",)).status == "queued"
    assert raw.get(f"{prefix}inflight:garbage") == "x"  # not ours to delete


def test_bad_scheduled_member_does_not_stop_promotion(config_values, runtime, raw, prefix, start_worker):
    # item 7: members of the scheduled set whose record is not a job, or has no queue
    raw.zadd(f"{prefix}scheduled", {"ghost-string": time.time() - 10, "ghost-noqueue": time.time() - 10})
    raw.set(f"{prefix}job:ghost-string", "foo")
    raw.hset(f"{prefix}job:ghost-noqueue", mapping={"status": "queued", "path": ADD})
    later = queue_job(ADD, {"a": 6, "b": 6}, queue="promo", delay=0.5)
    worker = start_worker("promo")
    wait_for(lambda: Job(later).fetch(("status",)).status == "success", timeout=30,
             message=f"the delayed job to be promoted and run; worker output:\n{worker.output()}")
    assert worker.proc.poll() is None


def test_wrong_type_queue_key_does_not_crash_workers(config_values, runtime, raw, prefix, run_burst):
    # item 8: a queue key that is not a list, served before a good queue
    raw.set(f"{prefix}q:broken", "foo")
    good = queue_jobs(ADD, [{"a": 7, "b": 7}] * 3, queue="fine")
    output = run_burst("broken", "fine")
    assert _finished(good) == ["success"] * 3
    assert "broken" in output  # the worker says which queue it could not read
    assert raw.get(f"{prefix}q:broken") == "foo"


def test_a_finish_that_cannot_be_written_holds_back_no_other_job(runtime, start_worker):
    # item 1's principle for the writer: one unwritable finish in a batch is written alone,
    # the others are recorded, and the writer keeps recording later jobs.
    poison = queue_job("tests.tasks.reliability.ClobberOwnRecord", {}, queue="writer")
    first = queue_jobs(ADD, [{"a": 8, "b": 8}] * 5, queue="writer")
    worker = start_worker("writer", "--greenlets", "10")
    wait_for(lambda: all(Job(i).fetch(("status",)).status == "success" for i in first), timeout=30,
             message=f"the jobs beside the poison one; worker output:\n{worker.output()}")
    later = queue_jobs(ADD, [{"a": 9, "b": 9}] * 3, queue="writer")
    wait_for(lambda: all(Job(i).fetch(("status",)).status == "success" for i in later), timeout=30,
             message=f"jobs queued after the poison one; worker output:\n{worker.output()}")
    assert f"job {poison}: its success outcome cannot be recorded" in worker.output()
    assert worker.proc.poll() is None


def test_a_dequeue_error_never_ends_the_worker(runtime, raw, prefix, start_worker):
    # Any other error in the dequeue path (here: the paused set is not a set) is logged with
    # its traceback and retried; the worker serves again once the cause is gone.
    raw.set(f"{prefix}paused", "foo")
    job_id = queue_job(ADD, {"a": 10, "b": 10}, queue="dq")
    worker = start_worker("dq")
    wait_for(lambda: "dequeue failed; retrying in 1s" in worker.output(), timeout=30,
             message="the logged dequeue error")
    assert worker.proc.poll() is None
    raw.delete(f"{prefix}paused")
    wait_for(lambda: Job(job_id).fetch(("status",)).status == "success", timeout=30,
             message=f"the job after the cause went; worker output:\n{worker.output()}")
