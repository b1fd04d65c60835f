"""Middleware: hooks around enqueueing, running and finishing jobs, and the worker's life.

Subclass ``Middleware`` and override the hooks you need; every hook is a no-op
by default. ``before_*`` hooks run in registration order, ``after_*`` hooks in
reverse. Celery's signals, Sentry reporting and metrics are each one middleware.
A hook that raises is logged and does not stop the job or the worker; raise
inside ``before_perform`` only to fail the job on purpose.

Middleware belongs to a runtime (``runtime.middleware``, a ``MiddlewareList``),
as dramatiq's belongs to its broker. A runtime starts with the middleware its
config names in the ``middleware`` setting (dotted paths, loaded when the
runtime is built; see docs/configuration.md). Add more with
``runtime.middleware.register(instance)``; ``mrqcore.middleware.register(instance)``
is a shortcut that registers on the *current* runtime (``get_runtime()``, see
``mrqcore.runtime`` for which one that is).
"""
from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from .exceptions import ConfigError

if TYPE_CHECKING:
    from .runtime import Runtime
    from .store.base import JobSpec
    from .worker import RunningJob, Worker

logger = logging.getLogger("mrqc.middleware")

__all__ = ("Middleware", "MiddlewareList", "load_middleware", "register", "unregister", "registered")


class Middleware:
    """Base class; override any hook."""

    def after_enqueue(self, specs: Sequence["JobSpec"]) -> None:
        """Jobs were written to the store by ``queue_job``/``queue_jobs`` (so also Celery's ``.delay()``).

        Scheduler runs and raw-queue items are not reported here.
        """

    def worker_start(self, worker: "Worker") -> None:
        """The worker is about to serve its queues."""

    def worker_stop(self, worker: "Worker") -> None:
        """The worker is exiting (its jobs are finished or interrupted)."""

    def before_perform(self, job: "RunningJob") -> None:
        """The job is about to run, in its own greenlet and context."""

    def after_perform(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        """The job ended with ``status``; ``exc`` is what stopped it, if anything."""


class MiddlewareList:
    """The ordered middleware of one runtime, and the calls that run a hook on each."""

    def __init__(self, items: Iterable[Middleware] = ()) -> None:
        self._items: list[Middleware] = []
        for item in items:
            self.register(item)

    def register(self, middleware: Middleware) -> None:
        """Append ``middleware`` (a second registration of the same object is ignored)."""
        if not isinstance(middleware, Middleware):
            raise TypeError(f"cannot register {middleware!r}: not a mrqcore.middleware.Middleware instance")
        if middleware not in self._items:
            self._items = self._items + [middleware]  # copy on write: emitters iterate without a lock

    def unregister(self, middleware: Middleware) -> None:
        if middleware in self._items:
            self._items = [m for m in self._items if m is not middleware]

    def registered(self) -> list[Middleware]:
        return list(self._items)

    def __contains__(self, middleware: object) -> bool:
        return middleware in self._items

    def __iter__(self) -> Iterator[Middleware]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def emit_before(self, hook: str, *args: Any, propagate: bool = False) -> None:
        """Call ``hook`` on each middleware in order; with ``propagate``, an exception stops and rises."""
        for middleware in self._items:
            if propagate:
                getattr(middleware, hook)(*args)
            else:
                _call(middleware, hook, args)

    def emit_after(self, hook: str, *args: Any) -> None:
        """Call ``hook`` on each middleware in reverse order; exceptions are logged."""
        for middleware in reversed(self._items):
            _call(middleware, hook, args)


def load_middleware(entries: Iterable[Any], setting: str = "middleware") -> list[Middleware]:
    """The ``middleware`` setting's entries as instances.

    An entry is a ``Middleware`` instance, a ``Middleware`` subclass
    (instantiated with no arguments), or a ``"module.attr"`` path to either.
    Anything else is a ConfigError naming the setting and the entry.
    """
    out: list[Middleware] = []
    for entry in entries:
        obj = entry
        if isinstance(entry, str):
            module_name, _, attr = entry.rpartition(".")
            if not module_name:
                raise ConfigError(setting, f"entry {entry!r} is not a 'module.attr' path")
            try:
                obj = getattr(importlib.import_module(module_name), attr)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(setting, f"cannot import {entry!r}: {exc}") from exc
        if isinstance(obj, type) and issubclass(obj, Middleware):
            try:
                obj = obj()
            except Exception as exc:
                raise ConfigError(setting, f"entry {entry!r}: {obj.__name__}() raised "
                                           f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(obj, Middleware):
            raise ConfigError(setting, f"entry {entry!r} is not a Middleware subclass or instance")
        out.append(obj)
    return out


def register(middleware: Middleware, runtime: "Runtime | None" = None) -> None:
    """Register on ``runtime``, by default the current one (``mrqcore.runtime.get_runtime()``)."""
    _runtime(runtime).middleware.register(middleware)


def unregister(middleware: Middleware, runtime: "Runtime | None" = None) -> None:
    """Remove from ``runtime``, by default the current one."""
    _runtime(runtime).middleware.unregister(middleware)


def registered(runtime: "Runtime | None" = None) -> list[Middleware]:
    """The middleware of ``runtime``, by default the current one."""
    return _runtime(runtime).middleware.registered()


def _runtime(runtime: "Runtime | None") -> "Runtime":
    if runtime is not None:
        return runtime
    from .runtime import get_runtime
    return get_runtime()


def _call(middleware: Middleware, hook: str, args: tuple[Any, ...]) -> None:
    try:
        getattr(middleware, hook)(*args)
    except Exception:
        logger.exception("middleware %r failed in %s", middleware, hook)
