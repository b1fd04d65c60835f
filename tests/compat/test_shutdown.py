"""Stopping a worker with signals, as Celery's and MRQ's do, on real worker processes and real signals.

``mrqc worker -A proj`` (a Celery app) reads signals as Celery 5.5+ does:
SIGTERM is a warm shutdown (running tasks finish, nothing new starts, then
exit), SIGQUIT a cold one (running tasks are interrupted and requeued, after
``worker_soft_shutdown_timeout`` seconds if set), a second SIGQUIT during the
soft wait interrupts at once. Every interrupted task is requeued, never lost:
the next worker runs it again. A plain ``mrqc worker`` keeps MRQ's reading
(SIGTERM interrupts; tests/test_statuses.py::test_interrupt_on_sigterm and the
MRQ-mode test below). No timing: every wait is a ``wait_for`` on a condition,
and what is checked is what the tasks and the store recorded.
"""
from __future__ import annotations

import signal
from typing import Any, Callable

import pytest

from mrqcore.job import Job
from mrqcore.maintenance import Recovery

from tests.conftest import wait_for

APP = "tests.compat.shutdown_proj"


@pytest.fixture
def proj(runtime: Any) -> Any:
    from tests.compat import shutdown_proj
    return shutdown_proj


@pytest.fixture
def key(runtime: Any) -> Callable[[str], str]:
    return lambda name: runtime.config.redis_prefix + "shutdown:" + name


@pytest.fixture
def celery_worker_proc(start_worker: Callable[..., Any], redis_client: Any, key: Callable[[str], str]) -> Any:
    def start(soft_timeout: float | None = None, **env: str) -> Any:
        if soft_timeout:
            env["SHUTDOWN_TEST_SOFT_TIMEOUT"] = str(soft_timeout)
        return start_worker("-A", APP, "-l", "INFO", env=env)
    return start


def _started(redis_client: Any, key: Callable[[str], str], *entries: str) -> Callable[[], bool]:
    return lambda: set(entries) <= set(redis_client.lrange(key("started"), 0, -1))


def test_sigterm_is_a_warm_shutdown(proj, runtime, celery_worker_proc, redis_client, key):
    running = proj.gated.delay("warm")
    worker = celery_worker_proc()
    wait_for(_started(redis_client, key, "warm:1"), timeout=30, message="task started")
    waiting = [proj.gated.delay("w2"), proj.gated.delay("w3")]  # concurrency 2: one of them starts
    wait_for(lambda: redis_client.llen(key("started")) == 2, timeout=30, message="second task started")
    worker.signal(signal.SIGTERM)
    wait_for(lambda: worker.output().count("warm shutdown") >= 1, message="warm shutdown begun")
    worker.signal(signal.SIGTERM)  # Celery ignores a repeated SIGTERM
    wait_for(lambda: "already shutting down" in worker.output(), message="second SIGTERM seen")
    assert worker.proc.poll() is None  # still running its tasks
    assert Job(running.id).fetch().status == "started"
    for tag in ("warm", "w2", "w3"):
        redis_client.rpush(key("gate:" + tag), "go")
    assert worker.wait(30) == 0, worker.output()
    assert running.get(timeout=10) == "warm:1"
    statuses = sorted(Job(r.id).fetch().status for r in waiting)
    assert statuses == ["queued", "success"]  # the one that had started finished; nothing new started
    assert redis_client.llen(key("started")) == 2


def test_sigquit_soft_timeout_lets_jobs_finish_then_a_second_sigquit_interrupts(
        proj, runtime, celery_worker_proc, redis_client, key):
    quick, slow = proj.gated.delay("quick"), proj.gated.delay("slow")
    worker = celery_worker_proc(soft_timeout=600)
    wait_for(_started(redis_client, key, "quick:1", "slow:1"), timeout=30, message="both tasks started")
    worker.signal(signal.SIGQUIT)
    wait_for(lambda: "soft shutdown: 2 running jobs have 600s" in worker.output(), message="soft shutdown")
    redis_client.rpush(key("gate:quick"), "go")
    assert quick.get(timeout=20) == "quick:1"  # finished inside the soft window
    assert worker.proc.poll() is None and Job(slow.id).fetch().status == "started"
    worker.signal(signal.SIGQUIT)  # a second cold signal: interrupt now
    assert worker.wait(30) == 0, worker.output()
    assert Job(slow.id).fetch().status == "interrupt"
    assert slow.id in Recovery(runtime).run_once().requeued_interrupted  # requeued, not lost
    assert Job(slow.id).fetch().status == "queued"


def test_task_still_running_after_the_soft_timeout_is_requeued_and_runs_on_the_next_worker(
        proj, runtime, celery_worker_proc, redis_client, key):
    result = proj.gated.delay("long")
    worker = celery_worker_proc(soft_timeout=0.5)
    wait_for(_started(redis_client, key, "long:1"), timeout=30, message="task started")
    worker.signal(signal.SIGQUIT)
    assert worker.wait(30) == 0, worker.output()  # the gate never opened: the soft timeout ended it
    assert "soft shutdown timeout (0.5s) reached: interrupting 1 running jobs" in worker.output()
    assert Job(result.id).fetch().status == "interrupt"
    redis_client.rpush(key("gate:long"), "go")
    celery_worker_proc(MRQC_WORKER_LOST_AFTER="1")  # its recovery service (a pass every 0.5s) requeues the interrupted job, and it runs again
    wait_for(lambda: Job(result.id).fetch().status == "success", timeout=30, message="ran again")
    assert result.get(timeout=10) == "long:2"
    assert redis_client.lrange(key("started"), 0, -1) == ["long:1", "long:2"]


def test_sigquit_without_soft_timeout_stops_at_once_and_the_job_is_recoverable(
        proj, runtime, celery_worker_proc, redis_client, key):
    result = proj.gated.delay("cold")
    worker = celery_worker_proc()
    wait_for(_started(redis_client, key, "cold:1"), timeout=30, message="task started")
    worker.signal(signal.SIGQUIT)
    assert worker.wait(30) == 0, worker.output()
    job = Job(result.id).fetch()
    assert job.status == "interrupt" and job.exceptiontype == "mrqcore.exceptions.WorkerInterrupt"
    assert runtime.store.inflight(job.worker) == []
    assert result.id in Recovery(runtime).run_once().requeued_interrupted
    assert Job(result.id).fetch().status == "queued"


def test_solo_pool_reads_signals_as_celery_too(proj, runtime, start_worker, redis_client, key):
    """-P solo (an unpatched process, the job in the main thread): SIGTERM warm, then SIGQUIT cold."""
    result = proj.gated.delay("solo")
    worker = start_worker("-A", APP, "-P", "solo", "-l", "INFO")
    wait_for(_started(redis_client, key, "solo:1"), timeout=30, message="task started")
    worker.signal(signal.SIGTERM)
    wait_for(lambda: "SIGTERM: warm shutdown: finishing 1 running jobs" in worker.output(), message="warm")
    assert worker.proc.poll() is None and Job(result.id).fetch().status == "started"
    worker.signal(signal.SIGQUIT)
    assert worker.wait(30) == 0, worker.output()
    assert Job(result.id).fetch().status == "interrupt"
    assert result.id in Recovery(runtime).run_once().requeued_interrupted


def test_mrq_worker_keeps_mrq_signals(runtime, start_worker, redis_client):
    """Without -A: SIGTERM interrupts at once (MRQ), whatever a soft timeout says."""
    from mrqcore.job import queue_job
    job_id = queue_job("tests.tasks.depth_b.BlockFirstAttempt", {})
    started = runtime.config.redis_prefix + "test:started"
    worker = start_worker("default", env={"MRQC_SOFT_SHUTDOWN_TIMEOUT": "600"})
    wait_for(lambda: redis_client.llen(started) == 1, timeout=30, message="job started")
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.output()
    assert "SIGTERM: interrupting 1 running jobs" in worker.output()
    assert Job(job_id).fetch().status == "interrupt"
