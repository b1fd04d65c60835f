"""The worker process: concurrency, queue priority, burst, max-jobs, signals, supervised processes."""
from __future__ import annotations

import signal

from mrqcore.job import Job, queue_job, queue_jobs
from tests.conftest import wait_for


def _key(runtime, name):
    return runtime.config.redis_prefix + "test:" + name


def _count(runtime, name):
    return runtime.store.client.llen(_key(runtime, name))


def test_n_greenlets_hold_n_jobs_at_once(runtime, run_burst):
    # Each job waits until it has seen `expect` jobs running at the same time: only
    # possible if the worker really runs 4 at once. The peak is counted by the tasks.
    ids = queue_jobs("tests.tasks.basic.Concurrency", [{"expect": 4}] * 8)
    run_burst("--greenlets", "4")
    assert int(runtime.store.client.get(_key(runtime, "peak"))) == 4
    assert {Job(i).fetch().status for i in ids} == {"success"}


def test_never_more_than_n_greenlets(runtime, run_burst):
    queue_jobs("tests.tasks.basic.Concurrency", [{"expect": 3, "max_wait": 1}] * 9)
    run_burst("--greenlets", "3")
    assert int(runtime.store.client.get(_key(runtime, "peak"))) == 3


def test_queues_listed_first_are_served_first(runtime, run_burst):
    for name in ("low-1", "low-2"):
        queue_job("tests.tasks.basic.RecordOrder", {"name": name}, queue="low")
    for name in ("high-1", "high-2"):
        queue_job("tests.tasks.basic.RecordOrder", {"name": name}, queue="high")
    queue_job("tests.tasks.basic.RecordOrder", {"name": "mid-1"}, queue="mid")
    run_burst("high", "mid", "low", "--greenlets", "1")
    assert runtime.store.client.lrange(_key(runtime, "order"), 0, -1) == ["high-1", "high-2", "mid-1", "low-1", "low-2"]


def test_burst_drains_then_exits(runtime, run_burst):
    ids = queue_jobs("tests.tasks.basic.Add", [{"a": i, "b": 1} for i in range(50)])
    output = run_burst("--greenlets", "5")
    assert "burst: queues drained" in output
    assert [Job(i).fetch().result for i in ids] == [i + 1 for i in range(50)]
    assert runtime.store.queue_size("default") == 0


def test_max_jobs_stops_the_worker(runtime, start_worker):
    ids = queue_jobs("tests.tasks.basic.Add", [{"a": i, "b": 0} for i in range(5)])
    worker = start_worker("--max-jobs", "2", "--greenlets", "1")
    assert worker.wait() == 0
    assert "max_jobs 2 reached" in worker.output()
    statuses = [Job(i).fetch().status for i in ids]
    assert statuses == ["success", "success", "queued", "queued", "queued"]


def test_first_sigint_finishes_current_jobs_then_exits(runtime, start_worker):
    first = queue_job("tests.tasks.basic.Sleep", {"gate": "s1"})
    second = queue_job("tests.tasks.basic.Sleep", {"gate": "s1"})
    worker = start_worker("--greenlets", "1")
    wait_for(lambda: _count(runtime, "started") == 1, message="first job started")
    worker.signal(signal.SIGINT)
    wait_for(lambda: "SIGINT: finishing 1 running jobs" in worker.output(), message="SIGINT noticed")
    runtime.store.client.rpush(_key(runtime, "gate:s1"), "go")
    assert worker.wait() == 0
    assert Job(first).fetch().status == "success"
    assert Job(second).fetch().status == "queued"  # not taken after the SIGINT
    assert runtime.store.queue_size("default") == 1


def test_second_sigint_interrupts(runtime, start_worker):
    job_id = queue_job("tests.tasks.basic.Sleep", {"gate": "never"})
    worker = start_worker()
    wait_for(lambda: _count(runtime, "started") == 1, message="job started")
    worker.signal(signal.SIGINT)
    wait_for(lambda: "SIGINT: finishing" in worker.output(), message="first SIGINT noticed")
    worker.signal(signal.SIGINT)
    assert worker.wait() == 0
    job = Job(job_id).fetch()
    assert job.status == "interrupt"
    assert job.exceptiontype == "mrqcore.exceptions.WorkerInterrupt"


def test_supervised_processes(runtime, run_burst):
    # Two processes of one greenlet each: the tasks see two jobs running at once.
    ids = queue_jobs("tests.tasks.basic.Concurrency", [{"expect": 2}] * 4)
    run_burst("--processes", "2", "--greenlets", "1")
    assert int(runtime.store.client.get(_key(runtime, "peak"))) == 2
    workers = {Job(i).fetch().worker for i in ids}
    assert len(workers) == 2


def test_supervisor_forwards_sigterm(runtime, start_worker):
    ids = queue_jobs("tests.tasks.basic.Sleep", [{"gate": "never"}] * 2)
    worker = start_worker("--processes", "2", "--greenlets", "1")
    wait_for(lambda: _count(runtime, "started") == 2, message="both jobs started")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert [Job(i).fetch().status for i in ids] == ["interrupt", "interrupt"]


def test_idle_worker_wakes_up_for_new_jobs(runtime, start_worker):
    worker = start_worker("--greenlets", "2")
    wait_for(lambda: runtime.store.client.zcard(runtime.keys.workers) == 1, message="worker registered")
    job_id = queue_job("tests.tasks.basic.Add", {"a": 20, "b": 22})
    assert Job(job_id).wait(timeout=20) == 42
    worker.signal(signal.SIGINT)
    assert worker.wait() == 0
    assert runtime.store.client.zcard(runtime.keys.workers) == 0  # unregistered on exit


def test_supervisor_replaces_a_child_that_reached_max_jobs(runtime, start_worker):
    ids = queue_jobs("tests.tasks.basic.Add", [{"a": i, "b": 0} for i in range(5)])
    supervisor = start_worker("--processes", "1", "--max-jobs", "2", "--greenlets", "1")
    wait_for(lambda: all(Job(i).fetch(("status",)).status == "success" for i in ids), timeout=60,
             message="all jobs done by successive children")
    assert len({Job(i).fetch(("worker",)).worker for i in ids}) == 3  # 2 + 2 + 1
    supervisor.signal(signal.SIGINT)
    assert supervisor.wait() == 0


def test_jobs_on_a_reused_runner_do_not_share_context(runtime, run_burst):
    # One greenlet: every job runs on the same reused runner, each in a fresh context.
    ids = [queue_job("tests.tasks.basic.ContextLeak", {"mark": f"job-{i}"}) for i in range(3)]
    run_burst("--greenlets", "1")
    assert [Job(i).fetch().result for i in ids] == ["unset", "unset", "unset"]
