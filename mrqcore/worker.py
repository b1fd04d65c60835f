"""The worker loop: dequeues jobs in batches and runs them through a pool.

There is one loop, used by ``mrqc worker`` and by the test worker of
``mrqc.contrib.testing``; *how* jobs and services run is the pool
(``mrqcore.pools``): ``"gevent"`` (default: up to ``greenlets`` jobs at once
on runner greenlets, in a monkey-patched process) or ``"solo"`` (one job at a
time in the calling thread, services in threads; for a worker in a thread of
an unpatched process such as pytest's).

Life of a worker:

* dequeue: one Lua call moves up to as many jobs as there are free runners
  from the queues (first listed first) into this worker's inflight set;
* run: each job runs through the pool (``mrqcore.execution.perform``);
* record: finished jobs are written by one writer greenlet, many per MULTI
  (solo: right after each job);
* idle: blocks on the "jobs queued" notification (pub/sub), with a poll
  interval as a safety net;
* a promoter service moves due scheduled jobs (retries, countdowns) onto
  their queues, so no separate scheduler process is needed for them.

The public protocol, what other modules (compat, queues, the admin) may use:
``run()``, ``stop()``, ``interrupt()``, ``wait_started()``, ``add_service(fn)``,
``kill_job(job_id, exc)``, ``running_jobs()``, ``reserved_jobs()``,
``wait_for_stop(timeout)``, ``report()``, ``resize(size)``, ``set_queues(names)``,
and the attributes ``id``, ``runtime``, ``store``, ``queues``, ``pool``,
``greenlets``, ``status``, ``stop_reason``, ``jobs_done``, ``control`` (remote
control, ``mrqcore.control_worker``). The rest is private.

Stopping: ``--burst`` exits when the queues are drained; ``max_jobs``,
``max_time`` and ``max_memory`` stop it gracefully. Signals are read MRQ's
way by default (first SIGINT: finish the current jobs, then exit; SIGTERM, or
a second SIGINT: interrupt them, status ``interrupt``, recovery requeues them)
or Celery's (``mrqc worker -A``: SIGTERM warm, SIGQUIT cold), see
``mrqcore.shutdown``. (Signals are handled with the gevent pool only; a solo
worker is stopped by calling ``stop()``.)
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Any, Callable, Sequence

import gevent
import psutil

from . import serialization
from .context import set_current_worker
from .exceptions import WorkerInterrupt
from .execution import RunningJob, perform
from .pools import Killable, WorkerPool, make_pool
from .runtime import Runtime, set_runtime
from .store.base import Finish

logger = logging.getLogger("mrqc.worker")


class Worker:
    """One worker's job loop. Build it, then call ``run()`` (returns the exit code).

    ``pool`` is how jobs run: ``"gevent"`` (default) or ``"solo"`` (one job at
    a time, ``greenlets`` is then 1), or a ``mrqcore.pools.WorkerPool``; an
    unknown name is a ConfigError. ``poll_interval`` (default: the setting)
    is how long an idle worker waits before it looks at its queues again, and
    so how soon a ``stop()`` from another thread is seen by a solo worker.
    """

    def __init__(self, runtime: Runtime, queues: Sequence[str] | None = None, greenlets: int | None = None,
                 max_jobs: int | None = None, max_time: float | None = None, max_memory: int | None = None,
                 burst: bool | None = None, name: str | None = None, pool: str | WorkerPool = "gevent",
                 poll_interval: float | None = None) -> None:
        config = runtime.config
        self.runtime = runtime
        self.store = runtime.store
        self.queues = list(queues or config.queues)
        self.greenlets = int(greenlets or config.greenlets)
        #: how jobs and services run (mrqcore.pools)
        self.pool: WorkerPool = make_pool(pool, self.greenlets)
        self.greenlets = self.pool.size
        self.poll_interval = float(poll_interval if poll_interval is not None else config.poll_interval)
        self.max_jobs = int(max_jobs if max_jobs is not None else config.max_jobs)
        self.max_time = float(max_time if max_time is not None else config.max_time)
        self.max_memory = int(max_memory if max_memory is not None else config.max_memory)
        self.burst = bool(burst if burst is not None else config.burst)
        self.batch = int(config.dequeue_batch) or self.greenlets
        base = name or config.name or f"{socket.gethostname()}.{os.getpid()}"
        self.id = f"{base}.{uuid.uuid4().hex[:6]}"
        #: job id -> (job, where it runs: a runner greenlet, or a solo thread; None until it starts)
        self._running: dict[str, tuple[RunningJob, Killable | None]] = {}
        self._current = self.pool.current
        self.jobs_dequeued = 0
        self.jobs_done = 0
        self.status = "init"
        self.stop_reason: str | None = None
        self._graceful = self.pool.event()
        self._started = threading.Event()
        self._interrupting = False
        self._pending: list[Finish] = []
        self._pending_event = self.pool.event()
        self._started_at = time.time()
        #: time of the last heartbeat the store accepted (None before the first): /healthz reads it
        self.last_heartbeat: float | None = None
        self._process = psutil.Process()
        #: run beside the job loop for the worker's life (greenlets, or solo threads); each takes no argument
        self.services: list[Callable[[], None]] = [self._promoter_loop, self._heartbeat_loop]
        self._flush_lock = self.pool.lock()
        self._writer_done = False
        # After starting a batch: gevent lets the runners start; solo records the finished job.
        self._after_batch = self._flush_now if self.pool.runs_inline else self.pool.idle
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
        from .outcomes import outcomes  # each job's outcome in the log and the metric hook
        runtime.middleware.register(outcomes)
        # Remote control (inspect, revoke, pool_grow...): mrqcore.control_worker.
        from .control_worker import ControlService
        self.control = ControlService(self)
        self.add_service(self.control.service)

    # --- public protocol --------------------------------------------------------------

    def add_service(self, service: Callable[[], None]) -> None:
        """Run ``service()`` beside the job loop while the worker runs; at stop it gets GreenletExit.

        Call it before ``run()``, or from a ``worker_start`` middleware hook.
        With the gevent pool the service is a greenlet, with solo a daemon thread.
        """
        self.services.append(service)

    def kill_job(self, job_id: str, exc: BaseException) -> bool:
        """Stop job ``job_id`` with ``exc`` if this worker runs it; False if it does not.

        ``exc`` is raised inside the job (any thread or greenlet may call this),
        and ``mrqcore.execution.perform`` records the job as it would any such
        exception (a ``JobInterrupt`` with its ``status``). A job handed over but
        not yet started ends with ``exc`` without running.
        """
        entry = self._running.get(job_id)
        if entry is None:
            return False
        job, where = entry
        if where is None:
            job.interrupt_before_start = exc
        else:
            where.kill(exc, block=False)
        return True

    def running_jobs(self) -> list[RunningJob]:
        """The jobs running now (a snapshot: a job in it may end as you read it)."""
        return [job for job, _ in list(self._running.values())]

    def reserved_jobs(self) -> list[RunningJob]:
        """The jobs handed to this worker that have not started running yet (a snapshot)."""
        return [job for job, where in list(self._running.values()) if where is None]

    def resize(self, size: int) -> int:
        """Run up to ``size`` jobs at once from now on; returns the new size.

        A shrink lets running jobs end first. A pool that cannot resize (solo)
        raises ConfigError.
        """
        self.pool.resize(size)
        self.greenlets = self.pool.size
        if not int(self.runtime.config.dequeue_batch):
            self.batch = self.greenlets
        return self.greenlets

    def set_queues(self, queues: Sequence[str]) -> None:
        """Serve ``queues`` (first listed, first served) from the next dequeue on."""
        self.queues = list(queues)
        self.feed.serve(self.queues)

    def wait_for_stop(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early if the worker is stopping; True if it is."""
        return bool(self._graceful.wait(timeout))

    def wait_started(self, timeout: float | None = None) -> bool:
        """Wait until ``run()`` serves its queues (its ``worker_start`` hooks have run); False on timeout.

        Safe to call from another thread (that is what it is for, with the solo pool).
        """
        return self._started.wait(timeout)

    def run(self) -> int:
        """Serve the queues until a stop condition; returns the process exit code."""
        owns_process = self.pool.owns_process
        if owns_process:  # a solo worker is a guest in its process: it changes no process-wide state
            set_runtime(self.runtime)
            set_current_worker(self)
            self._install_signals()
        for path in self.runtime.config.imports:
            __import__(path)
        logger.info("worker %s serving %s with %d greenlets (%s pool)", self.id, self.queues, self.greenlets,
                    self.pool.name)
        from .plugins import apply_worker_plugins  # entry points "mrqc.worker_plugins" (e.g. Sentry)
        apply_worker_plugins(self)
        self.runtime.middleware.emit_before("worker_start", self)
        writer = None if self.pool.runs_inline else gevent.spawn(self._writer_loop)
        helpers = [self.pool.start_service(service) for service in self.services]
        self.status = "running"
        self._started.set()
        try:
            self._main_loop()
        finally:
            self.status = "stopping"
            self._drain_running()
            self.pool.close()
            self.pool.stop_services(helpers, timeout=5)
            # The writer is never killed mid-write: it is told to finish, and joined.
            self._writer_done = True
            self._pending_event.set()
            if writer is not None:
                writer.join()
            self._flush_now()
            self._unregister()
            self.runtime.middleware.emit_after("worker_stop", self)
            if owns_process:
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
        for job, where in list(self._running.values()):
            interrupt = WorkerInterrupt(f"worker {self.id} {reason}")
            if where is None:  # handed over, not started yet: it ends before running
                job.interrupt_before_start = interrupt
            else:
                where.kill(interrupt, block=False)

    def report(self) -> dict[str, Any]:
        """What the heartbeat publishes about this worker."""
        return {
            "id": self.id, "status": self.status, "pid": os.getpid(), "host": socket.gethostname(),
            "queues": ",".join(self.queues), "greenlets": self.greenlets,
            "jobs_done": self.jobs_done, "current_jobs": ",".join(self._running),
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
                except Exception as exc:
                    # Never let a dequeue error end the worker: a lost connection, an OOM or
                    # BUSY reply pass; anything else is logged with its traceback and retried.
                    if self.store.is_transient(exc):
                        logger.warning("dequeue failed (%s); retrying", exc)
                    else:
                        logger.exception("dequeue failed; retrying in 1s")
                    self._graceful.wait(1.0)
                    continue
                if jobs:
                    for job_id, record in jobs:
                        self._start(job_id, record)
                    self._after_batch()  # gevent: let the new greenlets start before the next dequeue
                    continue
                if self.burst and not self.feed.held_back and self._burst_done():
                    self.stop("burst: queues drained")
                    break
                waiter.wait(self.poll_interval if not self._running else 0.05)

    def _burst_done(self) -> bool:
        if self._running:
            self.pool.join()  # jobs may queue more jobs: look again once they are done
            return False
        self._flush_now()
        moved, _ = self.store.promote_due(time.time())
        return moved == 0 and not self._running

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
        self._running[job_id] = (job, None)
        self.pool.spawn(self._run_job, job)

    def _run_job(self, job: RunningJob) -> None:
        self._running[job.id] = (job, self._current())
        try:
            fin = perform(job)
        finally:
            self._running.pop(job.id, None)
        self.jobs_done += 1
        self._pending.append(fin)
        self._pending_event.set()

    def _drain_running(self) -> None:
        # Graceful stop: let current jobs end. Interrupt: they were killed, wait for their records.
        while self._running:
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
            except Exception as exc:
                if not self.store.is_transient(exc):
                    # Something in the batch cannot be written: write the jobs one by one, so
                    # one poison finish never holds back the others (nor stops this writer).
                    self._record_one_by_one(batch)
                    continue
                # Connection lost, Redis restarting or out of memory: all pass; keep retrying.
                self._pending[:0] = batch
                logger.warning("could not record %d finished jobs (%s); retrying", len(batch), exc)
                gevent.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            except BaseException:
                # Killed mid-write (worker stopping): keep the batch for the next flush
                # rather than lose how these jobs ended.
                self._pending[:0] = batch
                raise
            try:
                self.feed.after_finish(batch)
            except self.store.backend_errors as exc:  # releases are safe to redo; recovery redoes them
                logger.warning("post-finish clean-up failed (%s)", exc)

    def _record_one_by_one(self, batch: list[Finish]) -> None:
        """Write each finish alone; one that still fails is recorded as ``failed`` with the reason.

        A finish that cannot be written even so stays held by this worker (its inflight
        entry), so lost-job recovery requeues it once the worker is gone: never lost.
        """
        written = []
        for fin in batch:
            try:
                self.store.finish(self.id, [fin])
                written.append(fin)
                continue
            except Exception as exc:
                if self.store.is_transient(exc):
                    self._pending.append(fin)  # the whole store is away: the normal retry
                    continue
                logger.error("job %s: its %s outcome cannot be recorded (%s: %s); recording it failed",
                             fin.id, fin.status, type(exc).__name__, exc)
                reason = f"the job ended {fin.status} but that could not be recorded: {type(exc).__name__}: {exc}"
            now = repr(time.time())
            failed = Finish(fin.id, "failed", {
                "status": "failed", "datedone": now, "dateupdated": now,
                "exceptiontype": "mrqcore.exceptions.StoreError",
                "traceback": serialization.safe_text(f"mrqcore.exceptions.StoreError: {reason}")})
            try:
                self.store.finish(self.id, [failed])
                written.append(failed)
            except Exception:
                logger.exception("job %s: not even its failure can be recorded; it stays held by worker "
                                 "%s and is requeued by recovery once this worker is gone", fin.id, self.id)
        if written:
            try:
                self.feed.after_finish(written)
            except self.store.backend_errors as exc:
                logger.warning("post-finish clean-up failed (%s)", exc)

    def _promoter_loop(self) -> None:
        interval = self.poll_interval
        while True:
            try:
                _, next_due = self.store.promote_due(time.time())
            except self.store.connection_errors as exc:
                logger.warning("promoting scheduled jobs failed (%s)", exc)
                next_due = None
            except Exception:  # never let one bad pass end promotion (retries, countdowns) for good
                logger.exception("promoting scheduled jobs failed; trying again")
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
                self.last_heartbeat = report["heartbeat"]
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
        # MRQ's or Celery's reading of SIGTERM/SIGINT/SIGQUIT: mrqcore.shutdown (`shutdown_signals`).
        from .shutdown import install_signal_handlers
        install_signal_handlers(self)
