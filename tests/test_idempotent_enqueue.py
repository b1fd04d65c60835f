"""Issue 9 item 12: a caller-chosen job id is queued at most once while that job is live.

Covers the ambiguous case: Redis is frozen, ``queue_job`` times out although the
job was in fact queued, and the caller retries with the same id.
"""
from __future__ import annotations

import os
import signal

import pytest
import redis

from mrqcore.config import Config
from mrqcore.job import Job, queue_job
from mrqcore.runtime import Runtime
from tests.conftest import wait_for
from tests.redis_server import redis_server_factory  # noqa: F401 - fixture

COUNT = "tests.tasks.reliability.CountRun"


def _runs(runtime, hash_key):
    return {k: int(v) for k, v in runtime.store.client.hgetall(hash_key).items()}


def test_same_id_twice_while_queued_is_queued_once(runtime, run_burst, prefix):
    runs = prefix + "runs"
    first = queue_job(COUNT, {"hash": runs}, job_id="order-42")
    again = queue_job(COUNT, {"hash": runs}, job_id="order-42")
    assert first == again == "order-42"
    assert runtime.store.client.lrange(runtime.keys.queue("default"), 0, -1) == ["order-42"]
    run_burst()
    assert _runs(runtime, runs) == {"order-42": 1}
    assert Job("order-42").fetch().status == "success"


def test_same_id_while_started_is_not_queued_again(runtime, start_worker, prefix):
    runs = prefix + "runs"
    queue_job(COUNT, {"hash": runs, "sleep": 1.0}, job_id="slow-1")
    start_worker()
    wait_for(lambda: _runs(runtime, runs).get("slow-1"), timeout=30, message="the job started")
    assert Job("slow-1").fetch().status == "started"
    queue_job(COUNT, {"hash": runs, "sleep": 1.0}, job_id="slow-1")
    assert runtime.store.client.llen(runtime.keys.queue("default")) == 0
    wait_for(lambda: Job("slow-1").fetch().status == "success", timeout=30, message="the job done")
    assert _runs(runtime, runs) == {"slow-1": 1}


def test_same_id_after_the_job_finished_is_not_queued_again(runtime, run_burst, prefix):
    # A retry that arrives after the first attempt already ran must not run it twice.
    runs = prefix + "runs"
    queue_job(COUNT, {"hash": runs}, job_id="done-1")
    run_burst()
    assert Job("done-1").fetch().status == "success"
    queue_job(COUNT, {"hash": runs}, job_id="done-1")
    assert runtime.store.client.llen(runtime.keys.queue("default")) == 0
    run_burst()
    assert _runs(runtime, runs) == {"done-1": 1}


def test_retry_after_a_timeout_on_a_frozen_redis_queues_once(redis_server_factory, prefix,  # noqa: F811
                                                             config_values, run_burst):
    server = redis_server_factory()
    config_values["redis"] = server.url
    runtime = Runtime(Config({**config_values, "redis": server.url + "?socket_timeout=0.5"}))
    runs = prefix + "runs"
    try:
        queue_job(COUNT, {"hash": runs}, job_id="warm-up", runtime=runtime)  # loads the Lua script
        os.kill(server.proc.pid, signal.SIGSTOP)  # frozen: the command is sent, no answer comes
        try:
            with pytest.raises(redis.TimeoutError):
                queue_job(COUNT, {"hash": runs}, job_id="pay-7", runtime=runtime)
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        # Ambiguous: the command was delivered and runs once Redis thaws.
        wait_for(lambda: Job("pay-7", runtime).exists, timeout=20, message="the timed-out job queued anyway")
        assert queue_job(COUNT, {"hash": runs}, job_id="pay-7", runtime=runtime) == "pay-7"  # the retry
        assert runtime.store.client.lrange(runtime.keys.queue("default"), 0, -1) == ["warm-up", "pay-7"]
        run_burst()
        assert _runs(runtime, runs) == {"warm-up": 1, "pay-7": 1}
    finally:
        runtime.close()
