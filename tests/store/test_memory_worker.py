"""A full worker run on the memory store: ``mrqcore.worker.Worker`` serving jobs of a ``memory://`` runtime.

The memory store lives in one process, so the worker runs in the process
that queued the jobs. The gevent worker needs a monkey-patched process (its
greenlets only switch on gevent I/O), and patching the test process would
change every other test: so the run happens in a child Python process that
patches itself, queues jobs on ``memory://``, runs the worker in burst mode
(drain, then exit) while a greenlet waits on a result with ``Job.wait``, and
prints what the store then holds.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import ROOT, worker_env

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()

    import json

    import gevent

    from mrqcore.config import Config
    from mrqcore.job import Job, queue_job
    from mrqcore.runtime import Runtime
    from mrqcore.store.memory import MemoryJobStore
    from mrqcore.worker import Worker

    runtime = Runtime(Config({"redis": "memory://worker-test", "redis_prefix": "mem:", "poll_interval": 0.1,
                              "heartbeat_interval": 0.2}))
    store = runtime.store
    assert isinstance(store, MemoryJobStore), store
    adds = [queue_job("tests.tasks.basic.Add", {"a": i, "b": 1}, queue="mem", runtime=runtime) for i in range(6)]
    fail = queue_job("tests.tasks.basic.Fail", {"message": "no"}, queue="mem", runtime=runtime)
    waited = gevent.spawn(lambda: Job(adds[-1], runtime).wait(timeout=20))
    worker = Worker(runtime, queues=["mem"], burst=True, greenlets=3)
    code = worker.run()
    print(json.dumps({
        "code": code,
        "waited": waited.get(timeout=20),
        "results": [Job(job_id, runtime).wait(timeout=5) for job_id in adds],
        "records": [store.get(job_id, ("status", "worker")) for job_id in adds + [fail]],
        "fail": store.get(fail, ("status", "exceptiontype", "traceback")),
        "worker": worker.id,
        "queue_size": store.queue_size("mem"),
        "inflight": store.inflight(worker.id),
        "heartbeats": store.worker_heartbeats(),
    }))
""")


def test_a_gevent_worker_serves_jobs_queued_on_a_memory_store() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=worker_env({}), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["code"] == 0
    assert seen["waited"] == 6  # a greenlet woke on the done notice while the worker ran
    assert seen["results"] == [i + 1 for i in range(6)]
    worker = seen["worker"]
    assert seen["records"][:-1] == [{"status": "success", "worker": worker}] * 6
    assert seen["fail"]["status"] == "failed" and "ValueError: no" in seen["fail"]["traceback"]
    assert seen["queue_size"] == 0 and seen["inflight"] == []
    assert worker not in seen["heartbeats"]  # unregistered at stop


def test_a_solo_worker_in_a_thread_serves_a_memory_store() -> None:
    """The same loop in a thread of this (unpatched) process, with the solo pool of ``mrqcore.pools``."""
    import threading

    import mrqcore.pools as pools
    from mrqcore.config import Config
    from mrqcore.job import Job, queue_job
    from mrqcore.runtime import Runtime
    from mrqcore.worker import Worker

    runtime = Runtime(Config({"redis": "memory://", "redis_prefix": "mem:", "poll_interval": 0.05,
                              "heartbeat_interval": 0.2}))
    adds = [queue_job("tests.tasks.basic.Add", {"a": i, "b": 2}, queue="mem", runtime=runtime) for i in range(4)]
    worker = Worker(runtime, queues=["mem"], burst=True, pool="solo")
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["code"] = worker.run()
        finally:
            pools.release_thread_hub()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive() and outcome == {"code": 0}
    assert [Job(job_id, runtime).wait(timeout=5) for job_id in adds] == [i + 2 for i in range(4)]
    assert runtime.store.queue_size("mem") == 0 and runtime.store.inflight(worker.id) == []
