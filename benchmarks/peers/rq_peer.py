"""RQ 2: ``rq worker-pool -n 2`` with RQ's default Worker (a forked work horse per job, RQ's
isolation model) and with ``SimpleWorker`` (jobs run in the worker process itself).

Bulk route: ``Queue.enqueue_many`` (one Redis pipeline). RQ's key names are fixed (``rq:*``); they
live only in the benchmark database, so cleanup deletes ``rq:*`` there.
"""
from __future__ import annotations

from typing import Any, Sequence

from benchmarks.peers.base import Peer, WorkerConfig, console_script
from benchmarks.peers.rq_tasks import io, noop
from benchmarks.settings import REDIS_URL


class RqPeer(Peer):
    system = "rq"
    distribution = "rq"
    single_api = "queue.enqueue(noop, x)"
    bulk_api = "queue.enqueue_many([Queue.prepare_data(noop, (x,)) ...])"
    has_burst = True

    def __init__(self) -> None:
        from rq import Queue

        self._queue = Queue(self.queue, connection=self.redis())

    def configs(self) -> list[WorkerConfig]:
        return [
            WorkerConfig("pool-2", "rq worker-pool -n 2 (default Worker: fork per job)", 2, {"worker": None}),
            WorkerConfig("pool-2-simple", "rq worker-pool -n 2 -w rq.worker.SimpleWorker", 2,
                         {"worker": "rq.worker.SimpleWorker"}),
        ]

    def enqueue(self, x: int):
        return self._queue.enqueue(noop, x)

    def enqueue_bulk(self, xs: Sequence[int]) -> list:
        from rq import Queue

        return self._queue.enqueue_many([Queue.prepare_data(noop, (x,)) for x in xs])

    def enqueue_io(self, count: int) -> list:
        from rq import Queue

        return self._queue.enqueue_many([Queue.prepare_data(io, (x,)) for x in range(count)])

    def done(self, handles: Sequence) -> list[bool]:
        pipe = self.redis().pipeline(transaction=False)
        for job in handles:
            pipe.exists(f"rq:results:{job.id}")
        return [bool(n) for n in pipe.execute()]

    def wait(self, handle, timeout: float) -> Any:
        result = handle.latest_result(timeout=max(1, int(timeout)))
        if result is None:
            raise TimeoutError(f"rq job {handle.id}: no result within {timeout}s")
        return result.return_value

    def result(self, handle) -> Any:
        return handle.latest_result().return_value

    def worker_argv(self, config: WorkerConfig, burst: bool) -> list[str]:
        argv = [console_script("rq"), "worker-pool", "-n", "2", "--url", REDIS_URL, "-l", "WARNING"]
        if config.options["worker"]:
            argv += ["-w", config.options["worker"]]
        if burst:
            argv.append("--burst")
        return [*argv, self.queue]

    def key_patterns(self) -> list[str]:
        return ["rq:*"]
