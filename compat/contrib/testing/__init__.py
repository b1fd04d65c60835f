"""An in-process test worker for an mrqc app: ``start_worker(app)``, like ``celery.contrib.testing.worker``.

``start_worker(app)`` runs a worker in a thread of the test process and
yields it; leaving the ``with`` block stops it::

    with start_worker(app) as worker:
        assert add.delay(2, 2).get(timeout=10) == 4

Why a thread and not ``mrqc worker``: tests define tasks inside test
functions (``@celery_app.task`` in the test body) and expect the worker to
see them at once; only a worker in the same process can.

The worker is ``mrqcore.worker.Worker``, the loop ``mrqc worker`` runs, with
the ``"solo"`` pool (``mrqcore.pools``): jobs run one at a time in the
worker's thread and its services (promoter, heartbeat, recovery, remote
control) in threads of their own, so the test process is never
monkey-patched. Everything else is the same as in ``mrqc worker``:
middleware and Celery's ``worker_init``/``worker_ready``/``worker_shutdown``
signals, statuses, retries and countdowns, results, ``revoke(terminate=True)``.

Limits, the same as Celery's solo test worker: one job at a time (a task that
waits on another task's result deadlocks), and time limits are not enforced
(they need the gevent pool; ``mrqc.contrib.testing.process.start_worker_process``
runs ``mrqc worker`` in a subprocess for that).
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any, Iterator, Sequence

from mrqcore.execution import RunningJob
from mrqcore.pools import release_thread_hub
from mrqcore.runtime import Runtime
from mrqcore.worker import Worker

logger = logging.getLogger("mrqc.contrib.testing")

__all__ = ("TestWorkController", "start_worker", "runtime_of", "queues_of")


class TestWorkController:
    """Runs ``mrqcore.worker.Worker`` (solo pool) for one app in a thread: ``start()``, ``stop()``, ``with``.

    ``worker`` is that Worker; ``id``, ``queues``, ``jobs_done``, ``status``,
    ``running`` (job id -> RunningJob) read through to it.
    """

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, app: Any, queues: Sequence[str] | None = None, hostname: str | None = None,
                 poll_interval: float = 0.05, **ignored: Any) -> None:
        self.app = app
        self.runtime: Runtime = runtime_of(app)
        self.store = self.runtime.store
        self.hostname = hostname or f"test-worker@{socket.gethostname()}"
        self.poll_interval = poll_interval
        #: the worker loop, the same class ``mrqc worker`` runs
        self.worker = Worker(self.runtime, queues=list(queues or queues_of(app)), pool="solo",
                             name=f"{self.hostname}.{os.getpid()}", poll_interval=poll_interval,
                             burst=False, max_jobs=0, max_time=0, max_memory=0)
        self.id = self.worker.id
        self.queues = self.worker.queues
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def jobs_done(self) -> int:
        return self.worker.jobs_done

    @property
    def status(self) -> str:
        return self.worker.status

    @property
    def running(self) -> dict[str, RunningJob]:
        """Job id -> the job, for what runs now."""
        return {job.id: job for job in self.worker.running_jobs()}

    # --- control ----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> "TestWorkController":
        """Start the worker; returns once it serves its queues (RuntimeError if it died first)."""
        self._thread = threading.Thread(target=self._run, name=f"mrqc-test-worker-{self.id}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.worker.wait_started(0.05):
            if self._error is not None or not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop(timeout)
                raise RuntimeError(f"test worker did not start: {self._error!r}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current job (the worker's graceful stop); waits for the thread."""
        self.worker.stop("test worker stopped")
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("test worker %s still running after %ss", self.id, timeout)

    def reload(self, *args: Any, **kwargs: Any) -> None:
        """Celery's ``celery_worker.reload()``: nothing to do, tasks are looked up when each job runs."""

    def ensure_started(self) -> None:
        self.worker.wait_started()

    def report(self) -> dict[str, Any]:
        return self.worker.report()

    def __enter__(self) -> "TestWorkController":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as exc:  # noqa: BLE001 - reported to start() / logged, never lost
            self._error = exc
            logger.exception("test worker %s crashed", self.id)
        finally:
            release_thread_hub()


@contextlib.contextmanager
def start_worker(app: Any, concurrency: int = 1, pool: str = "solo", loglevel: Any = "WARNING",
                 logfile: str | None = None, perform_ping_check: bool = True, ping_task_timeout: float = 10.0,
                 shutdown_timeout: float = 10.0, queues: Sequence[str] | None = None,
                 **kwargs: Any) -> Iterator[TestWorkController]:
    """Run a test worker for ``app`` while the block runs (Celery's signature; the pool is always solo)."""
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
