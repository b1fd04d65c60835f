"""Worker plugins: code of other packages that sets a worker up, found through entry points.

A package declares ``[project.entry-points."mrqc.worker_plugins"]`` entries
(``name = "package.module:function"``); each function is called as
``function(worker)`` when a ``Worker`` starts running, before its
``worker_start`` hooks, and may register middleware on ``worker.runtime`` or
add services. This is how mrqc's Sentry reporting turns itself on when a
worker sees ``SENTRY_DSN`` (``mrqc.adapters.sentry``) while mrqcore imports
nothing of it. A plugin that cannot be loaded or raises is logged; the worker
goes on.
"""
from __future__ import annotations

import importlib.metadata
import logging
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .worker import Worker

__all__ = ("PLUGIN_GROUP", "worker_plugins", "apply_worker_plugins")

#: entry-point group of ``plugin(worker)`` functions
PLUGIN_GROUP = "mrqc.worker_plugins"
logger = logging.getLogger("mrqc.worker")


def worker_plugins() -> list[tuple[str, Callable[["Worker"], Any]]]:
    """The installed plugins as ``(entry point name, function)``; broken entries are logged and skipped."""
    found = []
    for entry in importlib.metadata.entry_points(group=PLUGIN_GROUP):
        try:
            found.append((entry.name, entry.load()))
        except Exception as exc:
            logger.warning("worker plugin %r (%s) not loaded: %s: %s", entry.name, entry.value,
                           type(exc).__name__, exc)
    return found


def apply_worker_plugins(worker: "Worker") -> None:
    """Call every plugin with ``worker`` (the Worker does, at the start of ``run()``)."""
    for name, plugin in worker_plugins():
        try:
            plugin(worker)
        except Exception:
            logger.exception("worker plugin %r failed", name)
