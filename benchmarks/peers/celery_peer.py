"""Celery 5.7: prefork pool with 2 processes, and gevent pool with 100 greenlets.

Bulk route: Celery has no multi-message publish (``chunks`` would change the job count), so the
bulk row sends every message through one producer, ``apply_async(..., producer=p)`` inside
``app.producer_or_acquire()``; measured here it beats ``group(...).apply_async()`` (about 3,000 vs
2,100 jobs/s) and plain ``delay``.
Workers run with ``--without-gossip --without-mingle --without-heartbeat``: those exchange events
between workers only (mingle also waits for replies at startup), which a single worker never uses.
"""
from __future__ import annotations

from typing import Any, Sequence

from benchmarks.peers.base import Peer, WorkerConfig, python
from benchmarks.peers.celery_app import PREFIX, app, io, noop


class CeleryPeer(Peer):
    system = "celery"
    distribution = "celery"
    single_api = "noop.delay(x)"
    bulk_api = "with app.producer_or_acquire() as p: noop.apply_async((x,), producer=p) ..."

    def configs(self) -> list[WorkerConfig]:
        return [
            WorkerConfig("prefork-c2", "celery worker -P prefork -c 2", 2, {"pool": "prefork", "c": 2}),
            WorkerConfig("gevent-c100", "celery worker -P gevent -c 100", 100, {"pool": "gevent", "c": 100}),
        ]

    def enqueue(self, x: int) -> str:
        return noop.delay(x).id

    def enqueue_bulk(self, xs: Sequence[int]) -> list[str]:
        with app.producer_or_acquire() as producer:
            return [noop.apply_async((x,), producer=producer).id for x in xs]

    def enqueue_io(self, count: int) -> list[str]:
        with app.producer_or_acquire() as producer:
            return [io.apply_async((x,), producer=producer).id for x in range(count)]

    def done(self, handles: Sequence[str]) -> list[bool]:
        pipe = self.redis().pipeline(transaction=False)
        for task_id in handles:
            pipe.exists(f"{PREFIX}celery-task-meta-{task_id}")
        return [bool(n) for n in pipe.execute()]

    def wait(self, handle: str, timeout: float) -> Any:
        return app.AsyncResult(handle).get(timeout=timeout)

    def result(self, handle: str) -> Any:
        return app.AsyncResult(handle).get(timeout=5)

    def worker_argv(self, config: WorkerConfig, burst: bool) -> list[str]:
        return [python(), "-m", "celery", "-A", "benchmarks.peers.celery_app", "worker",
                "-P", config.options["pool"], "-c", str(config.options["c"]), "-Q", self.queue,
                "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]

    def key_patterns(self) -> list[str]:
        return [f"{PREFIX}*"]
