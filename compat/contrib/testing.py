"""An in-process test worker for an mrqc app: ``start_worker(app)``, like ``celery.contrib.testing.worker``.

``start_worker(app)`` runs a worker in a thread of the test process and
yields it; leaving the ``with`` block stops it::

    with start_worker(app) as worker:
        assert add.delay(2, 2).get(timeout=10) == 4

Why a thread and not ``mrqc worker``: tests define tasks inside test
functions (``@celery_app.task`` in the test body) and expect the worker to
see them at once; only a worker in the same process can. Why not mrqcore's
gevent ``Worker`` in that thread: its writer/promoter/heartbeat greenlets only
run when the job loop yields to gevent, which needs a monkey-patched process,
and patching the test process would change every other test. So this worker
is a plain loop over the same primitives, one job at a time, like Celery's
``solo`` test pool: it dequeues with mrqcore's Lua dequeue, runs each job with
``mrqcore.execution.perform`` (so middleware, signals, retries, statuses and
results are exactly the worker's), records it with ``store.finish``, promotes
due retries/countdowns, and heartbeats so recovery never takes its job.

Limits, the same as Celery's solo test worker: one job at a time (a task that
waits on another task's result deadlocks), and time limits are not enforced
(they need the gevent worker; use ``mrqc worker`` in a subprocess to test them).
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any, Iterator, Sequence

from mrqcore.execution import RunningJob, perform
from mrqcore.runtime import Runtime

logger = logging.getLogger("mrqc.contrib.testing")

__all__ = ("TestWorkController", "start_worker", "runtime_of", "queues_of")


class TestWorkController:
    """A one-job-at-a-time worker loop in a thread, bound to one app's Redis and queues."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, app: Any, queues: Sequence[str] | None = None, hostname: str | None = None,
                 poll_interval: float = 0.05, **ignored: Any) -> None:
        self.app = app
        self.runtime: Runtime = runtime_of(app)
        self.store = self.runtime.store
        self.queues = list(queues or queues_of(app))
        self.hostname = hostname or f"test-worker@{socket.gethostname()}"
        self.id = f"{self.hostname}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
        self.poll_interval = poll_interval
        self.jobs_done = 0
        self.running: dict[str, Any] = {}
        self.status = "init"
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # --- control ----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> "TestWorkController":
        """Start the loop; returns once it is serving (RuntimeError if it died first)."""
        self._thread = threading.Thread(target=self._run, name=f"mrqc-test-worker-{self.id}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"test worker did not start: {self._error!r}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current job; waits for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def reload(self, *args: Any, **kwargs: Any) -> None:
        """Celery's ``celery_worker.reload()``: nothing to do, tasks are looked up when each job runs."""

    def ensure_started(self) -> None:
        self._ready.wait()

    def report(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "pid": os.getpid(), "host": socket.gethostname(),
                "queues": ",".join(self.queues), "greenlets": 1, "jobs_done": self.jobs_done,
                "current_jobs": ",".join(self.running), "heartbeat": time.time()}

    # --- loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.status = "running"
            self.runtime.middleware.emit_before("worker_start", self)
            with self.store.notify_waiter() as waiter:
                self._ready.set()
                last_beat = 0.0
                while not self._stop.is_set():
                    now = time.time()
                    if now - last_beat >= 1.0:
                        self._heartbeat(now)
                        last_beat = now
                    self.store.promote_due(now)
                    jobs = self.store.dequeue(self.id, self.queues, 1, now)
                    if not jobs:
                        waiter.wait(self.poll_interval)
                        continue
                    for job_id, record in jobs:
                        self._perform(job_id, record)
        except BaseException as exc:  # noqa: BLE001 - reported to start() / logged, never lost
            self._error = exc
            logger.exception("test worker %s crashed", self.id)
            self._ready.set()
        finally:
            self.status = "stopped"
            self.runtime.middleware.emit_after("worker_stop", self)
            self._unregister()

    def _perform(self, job_id: str, record: dict[str, str]) -> None:
        job = RunningJob(job_id, record, self.runtime, self)  # type: ignore[arg-type]
        self.running[job_id] = job
        try:
            fin = perform(job)
        finally:
            self.running.pop(job_id, None)
        self.store.finish(self.id, [fin])
        self.jobs_done += 1

    def _heartbeat(self, now: float) -> None:
        keys = self.store.keys
        pipe = self.store.redis.pipeline(transaction=True)
        pipe.hset(keys.worker(self.id), mapping={k: str(v) for k, v in self.report().items()})
        pipe.expire(keys.worker(self.id), 120)
        pipe.zadd(keys.workers, {self.id: now})
        pipe.execute()

    def _unregister(self) -> None:
        keys = self.store.keys
        with contextlib.suppress(Exception):
            self.store.redis.zrem(keys.workers, self.id)
            self.store.redis.delete(keys.worker(self.id))


@contextlib.contextmanager
def start_worker(app: Any, concurrency: int = 1, pool: str = "solo", loglevel: Any = "WARNING",
                 logfile: str | None = None, perform_ping_check: bool = True, ping_task_timeout: float = 10.0,
                 shutdown_timeout: float = 10.0, queues: Sequence[str] | None = None,
                 **kwargs: Any) -> Iterator[TestWorkController]:
    """Run a test worker for ``app`` while the block runs (Celery's signature; pool options are ignored)."""
    worker = TestWorkController(app, queues=queues, **kwargs).start()
    try:
        yield worker
    finally:
        worker.stop(shutdown_timeout)


def runtime_of(app: Any) -> Runtime:
    """The mrqcore Runtime an mrqc app queues through."""
    for name in ("mrqc_runtime", "runtime"):
        value = getattr(app, name, None)
        if callable(value) and not isinstance(value, Runtime):
            value = value()
        if isinstance(value, Runtime):
            return value
    raise TypeError(f"{app!r} is not an mrqc app (it has no mrqcore runtime)")


def queues_of(app: Any) -> list[str]:
    """The queues ``mrqc worker -A`` would serve for ``app``."""
    options = app.mrqc_worker_options() if hasattr(app, "mrqc_worker_options") else {}
    return list(options.get("queues") or [runtime_of(app).config.default_queue])
