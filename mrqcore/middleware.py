"""Middleware: hooks around enqueueing, running and finishing jobs, and the worker's life.

Subclass ``Middleware`` and override the hooks you need; every hook is a no-op
by default. ``before_*`` hooks run in registration order, ``after_*`` hooks in
reverse. Celery's signals, Sentry reporting and metrics are each one middleware.
A hook that raises is logged and does not stop the job or the worker; raise
inside ``before_perform`` only to fail the job on purpose.

Register with ``mrqcore.middleware.register(instance)`` (process-wide; a worker
also loads the ``middleware`` setting's dotted paths at start).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from .store.base import JobSpec
    from .worker import RunningJob, Worker

logger = logging.getLogger("mrqc.middleware")


class Middleware:
    """Base class; override any hook."""

    def after_enqueue(self, specs: Sequence["JobSpec"]) -> None:
        """Jobs were written to the store."""

    def worker_start(self, worker: "Worker") -> None:
        """The worker is about to serve its queues."""

    def worker_stop(self, worker: "Worker") -> None:
        """The worker is exiting (its jobs are finished or interrupted)."""

    def before_perform(self, job: "RunningJob") -> None:
        """The job is about to run, in its own greenlet and context."""

    def after_perform(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        """The job ended with ``status``; ``exc`` is what stopped it, if anything."""


_middleware: list[Middleware] = []


def register(middleware: Middleware) -> None:
    if middleware not in _middleware:
        _middleware.append(middleware)


def unregister(middleware: Middleware) -> None:
    if middleware in _middleware:
        _middleware.remove(middleware)


def registered() -> list[Middleware]:
    return list(_middleware)


def emit_before(hook: str, *args: Any, propagate: bool = False) -> None:
    """Call ``hook`` on each middleware in order; with ``propagate``, an exception stops and rises."""
    for middleware in list(_middleware):
        if propagate:
            getattr(middleware, hook)(*args)
        else:
            _call(middleware, hook, args)


def emit_after(hook: str, *args: Any) -> None:
    for middleware in reversed(list(_middleware)):
        _call(middleware, hook, args)


def _call(middleware: Middleware, hook: str, args: tuple[Any, ...]) -> None:
    try:
        getattr(middleware, hook)(*args)
    except Exception:
        logger.exception("middleware %r failed in %s", middleware, hook)
