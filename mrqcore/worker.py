"""The gevent worker: dequeues jobs in batches and runs up to ``greenlets`` of them at once.

Life of a worker process:

* dequeue: one Lua call moves up to as many jobs as there are free greenlets
  from the queues (first listed first) into this worker's inflight set;
* run: each job runs in its own greenlet (``mrqcore.execution.perform``);
* record: finished jobs are written by one writer greenlet, many per MULTI;
* idle: blocks on the "jobs queued" notification (pub/sub), with a poll
  interval as a safety net;
* a promoter greenlet moves due scheduled jobs (retries, countdowns) onto
  their queues, so no separate scheduler process is needed for them.

Stopping: ``--burst`` exits when the queues are drained; ``max_jobs``,
``max_time`` and ``max_memory`` stop it gracefully. First SIGINT: finish the
current jobs, then exit. SIGTERM, or a second SIGINT: interrupt the current
jobs (status ``interrupt``), record them, exit.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import time
import uuid
from typing import Any, Callable, Sequence

import gevent
import gevent.event
import gevent.lock
import psutil

from . import middleware
from .context import set_current_worker
from .exceptions import WorkerInterrupt
from .execution import RunningJob, perform
from .runners import RunnerPool
from .runtime import Runtime, set_runtime
from .store.base import Finish

logger = logging.getLogger("mrqc.worker")


class Worker:
    """One worker process's job loop. Build it, then call ``run()`` (returns the exit code)."""

    def __init__(self, runtime: Runtime, queues: Sequence[str] | None = None, greenlets: int | None = None,
                 max_jobs: int | None = None, max_time: float | None = None, max_memory: int | None = None,
                 burst: bool | None = None, name: str | None = None) -> None:
        config = runtime.config
        self.runtime = runtime
        self.store = runtime.store
        self.queues = list(queues or config.queues)
        self.greenlets = int(greenlets or config.greenlets)
        self.max_jobs = int(max_jobs if max_jobs is not None else config.max_jobs)
        self.max_time = float(max_time if max_time is not None else config.max_time)
        self.max_memory = int(max_memory if max_memory is not None else config.max_memory)
        self.burst = bool(burst if burst is not None else config.burst)
        self.batch = int(config.dequeue_batch) or self.greenlets
        base = name or config.name or f"{socket.gethostname()}.{os.getpid()}"
        self.id = f"{base}.{uuid.uuid4().hex[:6]}"
        self.pool = RunnerPool(self.greenlets)
        #: job id -> (job, the runner greenlet executing it; None until a runner picks it up)
        self.running: dict[str, tuple[RunningJob, gevent.Greenlet | None]] = {}
        self.jobs_dequeued = 0
        self.jobs_done = 0
        self.status = "init"
        self.stop_reason: str | None = None
        self._graceful = gevent.event.Event()
        self._interrupting = False
        self._pending: list[Finish] = []
        self._pending_event = gevent.event.Event()
        self._flushed = gevent.event.Event()
        self._started_at = time.time()
        self._process = psutil.Process()
        #: greenlets run beside the job loop for the worker's life; each takes no argument
        self.services: list[Callable[[], None]] = [self._promoter_loop, self._heartbeat_loop]
        self._flush_lock = gevent.lock.Semaphore()
        self._writer_done = False
        # Every worker recovers lost and interrupted jobs (mrqcore.maintenance); with the
        # `scheduler` setting it also queues periodic jobs (a bad entry: ConfigError here).
        from .maintenance import Recovery
        recovery = Recovery(runtime, worker_id=self.id, active=lambda: not self._graceful.is_set())
        self.add_service(recovery.service)
        if config.scheduler:
            from .scheduler import Scheduler
            self.add_service(Scheduler(runtime).service)
        # Subqueues, raw queues (and raw item recovery), max_concurrency: see mrqcore.queues.
        from .queues import WorkerFeed
        self.feed = WorkerFeed(self)

    def add_service(self, service: Callable[[], None]) -> None:
        """Run ``service()`` in its own greenlet while the worker runs (killed at stop)."""
        self.services.append(service)

    # --- public ---------------------------------------------------------------------

    def run(self) -> int:
        """Serve the queues until a stop condition; returns the process exit code."""
        set_runtime(self.runtime)
        set_current_worker(self)
        self._install_signals()
        for path in self.runtime.config.imports:
            __import__(path)
        logger.info("worker %s serving %s with %d greenlets", self.id, self.queues, self.greenlets)
        middleware.emit_before("worker_start", self)
        writer = gevent.spawn(self._writer_loop)
        helpers = [gevent.spawn(service) for service in self.services]
        self.status = "running"
        try:
            self._main_loop()
        finally:
            self.status = "stopping"
            self._drain_running()
            self.pool.close()
            for greenlet in helpers:
                greenlet.kill(block=True, timeout=5)
            # The writer is never killed mid-write: it is told to finish, and joined.
            self._writer_done = True
            self._pending_event.set()
            writer.join()
            self._flush_now()
            self._unregister()
            middleware.emit_after("worker_stop", self)
            set_current_worker(None)
            self.status = "stopped"
            logger.info("worker %s stopped (%s) after %d jobs", self.id, self.stop_reason, self.jobs_done)
        return 0

    def stop(self, reason: str = "requested") -> None:
        """Stop dequeuing; current jobs finish, then ``run()`` returns."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._graceful.set()

    def interrupt(self, reason: str = "interrupted") -> None:
        """Stop now: current jobs get WorkerInterrupt and end as ``interrupt``."""
        self.stop(reason)
        if self._interrupting:
            return
        self._interrupting = True
        for job, greenlet in list(self.running.values()):
            interrupt = WorkerInterrupt(f"worker {self.id} {reason}")
            if greenlet is None:  # handed over, not started yet: it ends before running
                job.interrupt_before_start = interrupt
            else:
                greenlet.kill(interrupt, block=False)

    def report(self) -> dict[str, Any]:
        """What the heartbeat publishes about this worker."""
        return {
            "id": self.id, "status": self.status, "pid": os.getpid(), "host": socket.gethostname(),
            "queues": ",".join(self.queues), "greenlets": self.greenlets,
            "jobs_done": self.jobs_done, "current_jobs": ",".join(self.running),
            "rss_mb": round(self._process.memory_info().rss / 1e6, 1),
            "started": self._started_at, "heartbeat": time.time(),
        }

    # --- main loop ------------------------------------------------------------------

    def _main_loop(self) -> None:
        with self.store.notify_waiter() as waiter:
            while not self._graceful.is_set():
                if self._limits_reached():
                    break
                self.pool.wait_available()
                if self._graceful.is_set():
                    break
                count = min(self.batch, self.pool.free_count())
                if self.max_jobs:
                    count = min(count, self.max_jobs - self.jobs_dequeued)
                try:
                    jobs = self.feed.fetch(count)
                except self.store.connection_errors as exc:
                    logger.warning("dequeue failed (%s); retrying", exc)
                    self._graceful.wait(1.0)
                    continue
                if jobs:
                    for job_id, record in jobs:
                        self._start(job_id, record)
                    gevent.idle()  # let the new greenlets start before the next dequeue
                    continue
                if self.burst and not self.feed.held_back and self._burst_done():
                    self.stop("burst: queues drained")
                    break
                waiter.wait(self.runtime.config.poll_interval if not self.running else 0.05)

    def _burst_done(self) -> bool:
        if self.running:
            self.pool.join()  # jobs may queue more jobs: look again once they are done
            return False
        self._flush_now()
        moved, _ = self.store.promote_due(time.time())
        return moved == 0 and not self.running

    def _limits_reached(self) -> bool:
        if self.max_jobs and self.jobs_dequeued >= self.max_jobs:
            self.stop(f"max_jobs {self.max_jobs} reached")
            return True
        if self.max_time and time.time() - self._started_at >= self.max_time:
            self.stop(f"max_time {self.max_time}s reached")
            return True
        return False

    def _start(self, job_id: str, record: dict[str, str]) -> None:
        job = RunningJob(job_id, record, self.runtime, self)
        self.jobs_dequeued += 1
        self.running[job_id] = (job, None)
        self.pool.spawn(self._run_job, job)

    def _run_job(self, job: RunningJob) -> None:
        self.running[job.id] = (job, gevent.getcurrent())
        try:
            fin = perform(job)
        finally:
            self.running.pop(job.id, None)
        self.jobs_done += 1
        self._pending.append(fin)
        self._pending_event.set()

    def _drain_running(self) -> None:
        # Graceful stop: let current jobs end. Interrupt: they were killed, wait for their records.
        while self.running:
            self.pool.join(timeout=1.0)

    # --- writer, promoter, heartbeat ------------------------------------------------

    def _writer_loop(self) -> None:
        while not self._writer_done:
            self._pending_event.wait()
            self._flush_now()

    def _flush_now(self) -> None:
        """Write every pending finish; on a Redis error keep them and try again (never drop).

        One flush at a time (the writer's, or the final one at stop), so a batch is
        never written twice nor left half-recorded.
        """
        with self._flush_lock:
            self._flush_pending()

    def _flush_pending(self) -> None:
        delay = 0.1
        while self._pending:
            batch, self._pending = self._pending, []
            self._pending_event.clear()
            try:
                self.store.finish(self.id, batch)
            except self.store.backend_errors as exc:
                # Connection lost, Redis restarting or out of memory: all pass; keep retrying.
                logger.warning("could not record %d finished jobs (%s); retrying", len(batch), exc)
                self._pending[:0] = batch
                gevent.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            except BaseException:
                # Killed mid-write (worker stopping) or an unexpected error: keep the batch
                # for the next flush rather than lose how these jobs ended.
                self._pending[:0] = batch
                raise
            try:
                self.feed.after_finish(batch)
            except self.store.backend_errors as exc:  # releases are safe to redo; recovery redoes them
                logger.warning("post-finish clean-up failed (%s)", exc)
            for fin in batch:
                self.runtime.metric(f"jobs.status.{fin.status}", queue=None)

    def _promoter_loop(self) -> None:
        interval = self.runtime.config.poll_interval
        while True:
            try:
                _, next_due = self.store.promote_due(time.time())
            except self.store.connection_errors as exc:
                logger.warning("promoting scheduled jobs failed (%s)", exc)
                next_due = None
            wait = interval if next_due is None else max(0.0, min(interval, next_due - time.time()))
            gevent.sleep(wait)

    def _heartbeat_loop(self) -> None:
        interval = self.runtime.config.heartbeat_interval
        ttl = max(1, int(self.runtime.config.worker_lost_after * 2))
        while True:
            try:
                report = self.report()
                self.store.heartbeat(self.id, {k: str(v) for k, v in report.items()}, ttl, report["heartbeat"])
                if self.max_memory and report["rss_mb"] > self.max_memory:
                    self.stop(f"max_memory {self.max_memory}MB exceeded ({report['rss_mb']}MB)")
            except self.store.backend_errors as exc:
                logger.warning("heartbeat failed (%s)", exc)
            gevent.sleep(interval)

    def _unregister(self) -> None:
        try:
            self.store.unregister_worker(self.id)
        except self.store.backend_errors as exc:
            logger.warning("could not unregister worker %s (%s)", self.id, exc)

    # --- signals --------------------------------------------------------------------

    def _install_signals(self) -> None:
        gevent.signal_handler(signal.SIGINT, self._on_sigint)
        gevent.signal_handler(signal.SIGTERM, self._on_sigterm)

    def _on_sigint(self) -> None:
        if self._graceful.is_set():
            logger.warning("second SIGINT: interrupting %d running jobs", len(self.running))
            self.interrupt("got a second SIGINT")
        else:
            logger.warning("SIGINT: finishing %d running jobs, then exiting (SIGINT again to interrupt)",
                           len(self.running))
            self.stop("got SIGINT")

    def _on_sigterm(self) -> None:
        logger.warning("SIGTERM: interrupting %d running jobs", len(self.running))
        self.interrupt("got SIGTERM")
