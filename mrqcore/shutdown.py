"""How a worker process reads SIGTERM, SIGINT and SIGQUIT: MRQ's way, or Celery's.

The ``shutdown_signals`` setting chooses (docs/worker.md, "Stopping" has the
table beside Celery 5.5+'s own):

| signal | ``"mrq"`` (default: ``mrqc worker``) | ``"celery"`` (``mrqc worker -A proj``) |
|---|---|---|
| SIGTERM | interrupt running jobs (status ``interrupt``) | warm: finish running jobs, exit; again: ignored |
| SIGINT | first: finish running jobs; second: interrupt | first: warm; second: cold |
| SIGQUIT | not handled (the process ends) | cold: interrupt running jobs, after ``soft_shutdown_timeout`` s if set |

A cold shutdown's interrupted jobs are recorded ``interrupt`` in the same
atomic finish that marks them for recovery, which requeues them (a Celery
task with ``acks_late`` goes back on its queue at once): never lost. During
the soft wait the worker takes no new job, and a second SIGQUIT or SIGINT
interrupts at once. ``REMAP_SIGTERM=SIGQUIT`` in the environment makes
SIGTERM cold, as it does for Celery.

This module only uses the worker's public protocol (``stop``, ``interrupt``,
``running_jobs``, ``stop_reason``). ``install_signal_handlers`` is the gevent
pool's (the worker calls it); ``mrqc worker -P solo`` installs
``solo_signal_handlers`` with ``signal.signal`` (an unpatched process: the
soft wait is a thread there).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

import gevent

if TYPE_CHECKING:
    from .worker import Worker

logger = logging.getLogger("mrqc.worker")

#: values of the ``shutdown_signals`` setting
MODES = ("mrq", "celery")


def install_signal_handlers(worker: "Worker") -> None:
    """Handle the worker process's signals the way its ``shutdown_signals`` setting says."""
    if worker.runtime.config.shutdown_signals == "celery":
        handlers: Any = CelerySignals(worker)
        cold_term = os.environ.get("REMAP_SIGTERM", "").upper() == "SIGQUIT"
        gevent.signal_handler(signal.SIGINT, handlers.sigint)
        gevent.signal_handler(signal.SIGTERM, handlers.cold if cold_term else handlers.warm, "SIGTERM")
        gevent.signal_handler(signal.SIGQUIT, handlers.cold, "SIGQUIT")
    else:
        handlers = MrqSignals(worker)
        gevent.signal_handler(signal.SIGINT, handlers.sigint)
        gevent.signal_handler(signal.SIGTERM, handlers.sigterm)


def solo_signal_handlers(worker: "Worker") -> dict[int, Callable[[], None]]:
    """The same readings for a solo worker in the main thread of an unpatched process: signal -> handler."""
    if worker.runtime.config.shutdown_signals == "celery":
        handlers = CelerySignals(worker, spawn=_thread)
        cold_term = os.environ.get("REMAP_SIGTERM", "").upper() == "SIGQUIT"
        return {signal.SIGINT: handlers.sigint, signal.SIGQUIT: lambda: handlers.cold("SIGQUIT"),
                signal.SIGTERM: (lambda: handlers.cold("SIGTERM")) if cold_term else (lambda: handlers.warm("SIGTERM"))}
    mrq = MrqSignals(worker)
    return {signal.SIGINT: mrq.sigint, signal.SIGTERM: mrq.sigterm}


def _thread(func: Callable[..., None], *args: Any) -> threading.Thread:
    thread = threading.Thread(target=func, args=args, name="mrqc-soft-shutdown", daemon=True)
    thread.start()
    return thread


class MrqSignals:
    """MRQ's: SIGINT finishes the running jobs (a second one interrupts them), SIGTERM interrupts them."""

    def __init__(self, worker: "Worker") -> None:
        self.worker = worker

    def sigint(self) -> None:
        running = len(self.worker.running_jobs())
        if self.worker.stop_reason is not None:
            logger.warning("second SIGINT: interrupting %d running jobs", running)
            self.worker.interrupt("got a second SIGINT")
        else:
            logger.warning("SIGINT: finishing %d running jobs, then exiting (SIGINT again to interrupt)", running)
            self.worker.stop("got SIGINT")

    def sigterm(self) -> None:
        logger.warning("SIGTERM: interrupting %d running jobs", len(self.worker.running_jobs()))
        self.worker.interrupt("got SIGTERM")


class CelerySignals:
    """Celery 5.5+'s: warm (SIGTERM, first SIGINT), cold (SIGQUIT, second SIGINT) with a soft wait."""

    def __init__(self, worker: "Worker", spawn: Callable[..., Any] = gevent.spawn) -> None:
        self.worker = worker
        self.spawn = spawn  # how the soft wait runs beside the worker: a greenlet, or a thread (solo)
        self.soft_wait: Any = None  # the soft-shutdown greenlet or thread, once started

    def warm(self, sig: str = "SIGTERM") -> None:
        """Take no more jobs, let the running ones finish, exit."""
        running = len(self.worker.running_jobs())
        if self.worker.stop_reason is not None:
            logger.warning("%s: already shutting down (SIGQUIT to interrupt the running jobs)", sig)
            return
        logger.warning("%s: warm shutdown: finishing %d running jobs, then exiting (SIGQUIT to interrupt them)",
                       sig, running)
        self.worker.stop(f"got {sig} (warm shutdown)")

    def sigint(self) -> None:
        if self.worker.stop_reason is not None:
            self.cold("a second SIGINT")
        else:
            self.warm("SIGINT")

    def cold(self, sig: str = "SIGQUIT") -> None:
        """Interrupt the running jobs (they are requeued), after the soft wait if one is set."""
        worker = self.worker
        running = len(worker.running_jobs())
        if self.soft_wait is not None:
            logger.warning("%s during the soft shutdown: interrupting %d running jobs now", sig, running)
            worker.interrupt(f"got {sig} during the soft shutdown")
            return
        worker.stop(f"got {sig} (cold shutdown)")
        timeout = float(worker.runtime.config.soft_shutdown_timeout)
        if timeout > 0 and running:
            logger.warning("%s: soft shutdown: %d running jobs have %gs to finish, then they are interrupted "
                           "and requeued", sig, running, timeout)
            self.soft_wait = self.spawn(self._soft_shutdown, timeout, sig)
            return
        logger.warning("%s: cold shutdown: interrupting %d running jobs (they are requeued)", sig, running)
        worker.interrupt(f"got {sig} (cold shutdown)")

    def _soft_shutdown(self, timeout: float, sig: str) -> None:
        worker = self.worker
        deadline = time.monotonic() + timeout
        while worker.running_jobs() and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))  # gevent: patched, it yields
        running = len(worker.running_jobs())
        if running:
            logger.warning("soft shutdown timeout (%gs) reached: interrupting %d running jobs (they are requeued)",
                           timeout, running)
            worker.interrupt(f"got {sig} (cold shutdown after {timeout:g}s)")
