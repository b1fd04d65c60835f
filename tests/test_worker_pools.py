"""One worker loop, two pools: ``mrqc worker`` (gevent) and the solo pool used by in-process test workers.

The gevent side runs as a real ``mrqc worker`` process; the solo side runs
``mrqcore.worker.Worker(pool="solo")`` in this (unpatched) test process, in
the main thread for a burst or in a background thread as
``mrqc.contrib.testing`` does.
"""
from __future__ import annotations

import pathlib
import re
import threading

import pytest

from mrqcore.exceptions import AbortInterrupt, ConfigError
from mrqcore.job import Job, queue_job
from mrqcore.pools import GeventPool, SoloPool, make_pool
from mrqcore.worker import Worker
from tests.conftest import ROOT, wait_for

# (task path, params) -> the same outcome under either pool
JOB_SET = [
    ("tests.tasks.basic.Add", {"a": 2, "b": 3}),
    ("tests.tasks.basic.Echo", {"x": [1, "two"]}),
    ("tests.tasks.basic.Fail", {"message": "nope"}),
    ("tests.tasks.basic.Abort", {}),
    ("tests.tasks.basic.SwallowAll", {"do": "abort"}),
    ("tests.tasks.basic.Retry", {"succeed_after": 2, "delay": 0}),
    ("tests.tasks.basic.Retry", {"max_retries": 1, "delay": 0}),
    ("tests.tasks.basic.BadResult", {}),
    ("tests.tasks.basic.Progress", {}),
    ("tests.tasks.basic.ContextLeak", {"mark": "first"}),
    ("tests.tasks.basic.ContextLeak", {"mark": "second"}),
    ("tests.tasks.basic.NotATask", {}),
    ("tests.tasks.basic.NoSuchTask", {}),
]


def _outcomes(ids):
    out = []
    for job_id in ids:
        job = Job(job_id).fetch()
        out.append((job.status, job.result, job.data.get("exceptiontype"), job.data.get("retry_count")))
    return out


def _queue_set():
    return [queue_job(path, params) for path, params in JOB_SET]


class _Threaded:
    """A solo Worker serving in a background thread, as ``mrqc.contrib.testing`` runs it."""

    def __init__(self, runtime, **kwargs):
        self.worker = Worker(runtime, pool="solo", poll_interval=0.05, **kwargs)
        self.thread = threading.Thread(target=self.worker.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        assert self.worker.wait_started(10), "solo worker did not start"
        return self.worker

    def __exit__(self, *exc):
        self.worker.stop()
        self.thread.join(20)
        assert not self.thread.is_alive()


def test_both_pools_run_the_same_job_set_with_the_same_outcomes(runtime, run_burst):
    gevent_ids = _queue_set()
    run_burst("--greenlets", "3")
    solo_ids = _queue_set()
    worker = Worker(runtime, pool="solo", burst=True)
    assert worker.run() == 0
    assert worker.stop_reason == "burst: queues drained"
    gevent_outcomes, solo_outcomes = _outcomes(gevent_ids), _outcomes(solo_ids)
    assert solo_outcomes == gevent_outcomes
    statuses = [status for status, *_ in solo_outcomes]
    assert statuses == ["success", "success", "failed", "abort", "abort", "success", "maxretries", "failed",
                        "success", "success", "success", "failed", "failed"]
    assert solo_outcomes[5][1] == 2  # retried twice, the promoter put it back each time
    assert [r for _, r, *_ in solo_outcomes[9:11]] == ["unset", "unset"]  # a fresh context per job


def test_solo_worker_serves_from_a_thread_and_stops(runtime):
    with _Threaded(runtime) as worker:
        assert worker.status == "running" and worker.pool.name == "solo"
        job_id = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 1})
        assert Job(job_id).wait(timeout=20, poll_interval=0.05) == 2
        later = queue_job("tests.tasks.basic.Retry", {"succeed_after": 1, "delay": 0.2})
        assert Job(later).wait(timeout=20, poll_interval=0.05) == 1
    assert worker.status == "stopped" and worker.jobs_done == 3


def test_kill_job_ends_a_running_job_in_the_solo_pool(runtime):
    with _Threaded(runtime) as worker:
        job_id = queue_job("tests.tasks.pools.Loop", {})
        wait_for(lambda: [j.id for j in worker.running_jobs()] == [job_id], message="job running")
        assert worker.kill_job(job_id, AbortInterrupt("killed by the test")) is True
        wait_for(lambda: Job(job_id).fetch().status == "abort", message="job aborted")
        assert "AbortInterrupt" in Job(job_id).fetch().data["exceptiontype"]
        assert worker.running_jobs() == []
        assert worker.kill_job("no-such-job", AbortInterrupt("x")) is False
        # the worker goes on serving
        assert Job(queue_job("tests.tasks.basic.Add", {"a": 2, "b": 2})).wait(timeout=20, poll_interval=0.05) == 4


def test_interrupt_ends_the_running_job_as_interrupt_in_the_solo_pool(runtime):
    runner = _Threaded(runtime)
    with runner as worker:
        job_id = queue_job("tests.tasks.pools.Loop", {})
        wait_for(lambda: worker.running_jobs(), message="job running")
        worker.interrupt("test interrupt")
        runner.thread.join(20)
        assert not runner.thread.is_alive()
    job = Job(job_id).fetch()
    assert job.status == "interrupt" and worker.stop_reason == "test interrupt"


def test_the_solo_pool_runs_one_job_at_a_time(runtime):
    assert Worker(runtime, greenlets=4, pool="solo").greenlets == 1
    assert isinstance(Worker(runtime, greenlets=4).pool, GeventPool)
    assert Worker(runtime, greenlets=4).greenlets == 4
    assert isinstance(make_pool("solo", 1), SoloPool)


def test_an_unknown_pool_is_a_clear_error(runtime):
    with pytest.raises(ConfigError, match=r"'pool'.*unknown pool 'sol'.*did you mean 'solo'"):
        Worker(runtime, pool="sol")


def test_other_modules_use_only_the_worker_protocol():
    # compat and the rest of mrqcore reach the worker through its public protocol
    # (add_service, kill_job, running_jobs, wait_for_stop...), never its private state.
    offenders = []
    pattern = re.compile(r"\bworker\.(_\w+|running\b)")
    for folder in ("mrqcore", "compat", "adapters", "migration"):
        for path in pathlib.Path(ROOT, folder).rglob("*.py"):
            if path.name == "worker.py" and path.parent.name == "mrqcore":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_solo_pool_refuses_a_monkey_patched_process(tmp_path):
    # In a patched process its threads would be greenlets: say so instead of failing later.
    import subprocess
    import sys
    code = ("from gevent import monkey; monkey.patch_all()\n"
            "from mrqcore.pools import make_pool\n"
            "from mrqcore.exceptions import ConfigError\n"
            "try:\n    make_pool('solo', 1)\nexcept ConfigError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "solo pool needs a process that gevent has not monkey-patched" in out.stdout, out.stderr
