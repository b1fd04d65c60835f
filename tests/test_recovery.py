"""Lost-job recovery: jobs of dead workers and interrupted jobs go back to their queue by themselves."""
from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from mrqcore.job import Job, queue_job
from mrqcore.maintenance import Recovery
from tests.conftest import wait_for

BLOCK = "tests.tasks.depth_b.BlockFirstAttempt"


@pytest.fixture
def fast_recovery(config_values):
    """Workers declare a peer lost after 1.5 s without heartbeat; they heartbeat every 0.2 s."""
    config_values.update({"worker_lost_after": 1.5, "heartbeat_interval": 0.2,
                          "metric_hook": "tests.tasks.depth_b.count_metric"})
    return config_values


def _started(runtime, job_id):
    prefix = runtime.config.redis_prefix
    return [x for x in runtime.store.client.lrange(prefix + "test:started", 0, -1) if x.startswith(job_id + ":")]


def _history(runtime, job_id):
    return json.loads(runtime.store.get(job_id, ["requeue_history"]).get("requeue_history") or "[]")


def test_job_of_a_sigkilled_worker_is_finished_by_another(fast_recovery, runtime, start_worker):
    job_id = queue_job(BLOCK, {}, queue="lost")
    doomed = start_worker("lost", "--name", "doomed")
    wait_for(lambda: _started(runtime, job_id), timeout=30, message="the job to start")
    doomed_id = runtime.store.get(job_id, ["worker"])["worker"]
    wait_for(lambda: runtime.store.client.zscore(runtime.keys.workers, doomed_id) is not None, timeout=10,
             message="the doomed worker's heartbeat")
    doomed.signal(signal.SIGKILL)
    assert doomed.wait(10) == -signal.SIGKILL
    assert runtime.store.get(job_id, ["status"])["status"] == "started"  # nobody recorded anything

    start_worker("lost", "--name", "rescuer")
    result = Job(job_id, runtime).wait(timeout=40)
    assert result == {"attempt": 2}
    record = Job(job_id, runtime).fetch()
    assert record.worker != doomed_id and record.worker.startswith("rescuer.")
    history = _history(runtime, job_id)
    assert len(history) == 1 and history[0]["from_status"] == "started"
    assert f"worker {doomed_id} lost (no heartbeat for" in history[0]["note"]
    # The dead worker's entries are gone.
    assert runtime.store.client.zscore(runtime.keys.workers, doomed_id) is None
    assert not runtime.store.client.exists(runtime.keys.inflight(doomed_id))
    # The recovery was reported to the metric hook.
    # The recovery pass reports after all its steps, so the rescued job can finish first: wait for the report.
    def recovery_metrics():
        key = runtime.config.redis_prefix + "test:recovery-metrics"
        return [json.loads(m) for m in runtime.store.client.lrange(key, 0, -1)]
    wait_for(lambda: {"name": "recovery.requeued", "incr": 1, "reason": "lost"} in recovery_metrics(), timeout=10,
             message="the recovery.requeued metric")


def test_sigterm_interrupted_job_is_requeued_and_completed(fast_recovery, runtime, start_worker):
    job_id = queue_job(BLOCK, {}, queue="intr")
    first = start_worker("intr", "--name", "first")
    wait_for(lambda: _started(runtime, job_id), timeout=30, message="the job to start")
    first.signal(signal.SIGTERM)
    assert first.wait(30) == 0
    # The stopping worker recorded the interruption and left the requeue to the others.
    assert runtime.store.get(job_id, ["status"])["status"] == "interrupt"

    start_worker("intr", "--name", "second")
    # (Job.wait would return at once: interrupt is a final status until recovery requeues it.)
    wait_for(lambda: runtime.store.get(job_id, ["status"])["status"] == "success", timeout=40,
             message="the interrupted job to be requeued and completed")
    assert Job(job_id, runtime).fetch().result == {"attempt": 2}
    history = _history(runtime, job_id)
    assert [h["from_status"] for h in history] == ["interrupt"]
    assert "interrupted on worker first." in history[0]["note"]
    tb = Job(job_id, runtime).fetch().traceback_history
    assert [h["status"] for h in tb] == ["interrupt"]
    wait_for(lambda: not runtime.store.client.exists(runtime.keys.interrupted), timeout=20,
             message="the interrupted index to be pruned")


# --- deterministic passes (no worker process) -------------------------------------------


def _ghost_holding(runtime, queue, count=2, silent_for=60.0):
    """A 'worker' that dequeued jobs and then stopped heartbeating ``silent_for`` seconds ago."""
    ids = [queue_job("tests.tasks.basic.Add", {"a": i, "b": 1}, queue=queue) for i in range(count)]
    now = time.time()
    got = runtime.store.dequeue("ghost", [queue], count, now - silent_for)
    assert [job_id for job_id, _ in got] == ids
    runtime.store.client.zadd(runtime.keys.workers, {"ghost": now - silent_for})
    return ids


def test_concurrent_recoveries_requeue_each_lost_job_once(runtime):
    ids = _ghost_holding(runtime, "ghostq", count=5)
    recoveries = [Recovery(runtime, worker_id=f"r{i}") for i in range(4)]
    barrier = threading.Barrier(len(recoveries))
    reports = []

    def run(rec):
        barrier.wait(timeout=10)
        reports.append(rec.run_once())

    threads = [threading.Thread(target=run, args=(r,)) for r in recoveries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    requeued = [job_id for rep in reports for job_id in rep.requeued_lost]
    assert sorted(requeued) == sorted(ids)
    assert sorted(runtime.store.client.lrange(runtime.keys.queue("ghostq"), 0, -1)) == sorted(ids)
    for job_id in ids:
        history = _history(runtime, job_id)
        assert len(history) == 1 and "worker ghost lost (no heartbeat for 60s)" == history[0]["note"]
    assert runtime.store.client.zscore(runtime.keys.workers, "ghost") is None
    assert not runtime.store.client.exists(runtime.keys.inflight("ghost"))
    assert not any(rep.changed for rep in [r.run_once() for r in recoveries])


def test_live_worker_is_left_alone(runtime):
    ids = _ghost_holding(runtime, "liveq", count=1, silent_for=0.1)
    report = Recovery(runtime).run_once(full=True)
    assert not report.changed
    assert runtime.store.get(ids[0], ["status"])["status"] == "started"


def test_full_pass_recovers_a_worker_that_never_heartbeat_and_cleans_scheduled(runtime):
    ids = _ghost_holding(runtime, "orphanq", count=1)
    runtime.store.client.zrem(runtime.keys.workers, "ghost")  # killed before its first heartbeat
    assert not Recovery(runtime).run_once().changed  # only a full pass scans for such sets
    expired = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 1}, delay=3600)
    kept = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 2}, delay=3600)
    runtime.store.client.delete(runtime.keys.job(expired))  # as if its record had expired
    report = Recovery(runtime).run_once(full=True)
    assert report.requeued_lost == ids and report.cleaned_scheduled == 1
    assert "no heartbeat for ever" in _history(runtime, ids[0])[0]["note"]
    assert runtime.store.client.zrange(runtime.keys.scheduled, 0, -1) == [kept]


def test_interrupted_index_is_requeued_once_and_pruned(runtime):
    from mrqcore.store.base import Finish
    ids = _ghost_holding(runtime, "iq", count=3, silent_for=0.0)
    runtime.store.client.zadd(runtime.keys.workers, {"ghost": time.time()})
    runtime.store.finish("ghost", [Finish(i, "interrupt", {"status": "interrupt"}, ttl=100) for i in ids])
    assert runtime.store.client.zcard(runtime.keys.interrupted) == 3
    reports = [Recovery(runtime, worker_id="x").run_once() for _ in range(2)]
    assert sorted(reports[0].requeued_interrupted) == sorted(ids) and reports[1].requeued_interrupted == []
    for job_id in ids:
        assert runtime.store.get(job_id, ["status"])["status"] == "queued"
        assert runtime.store.client.ttl(runtime.keys.job(job_id)) == -1  # the TTL of the finished record is gone
        assert _history(runtime, job_id)[0]["note"] == "interrupted on worker ghost, requeued automatically"
    assert runtime.store.client.zcard(runtime.keys.interrupted) == 0
