"""The runtime: one Config with the connections and the store built from it.

Every API call (``queue_job``, ``Job``, the worker) works through a Runtime.
There is always exactly one *current* runtime, visible and replaceable:

* a worker installs its own at start;
* ``mrqcore.configure(...)`` (or ``set_runtime``) installs one explicitly;
* otherwise the first call builds one from ``Config.load()`` (``mrqc_config.py``
  in the working directory, ``MRQC_*`` variables), so plain Python code can
  queue jobs with no set-up call.

The runtime holds no job state; it is safe to share between greenlets.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

from .config import Config, resolve_callable
from .keys import Keys
from .store import JobStore, open_store

_current: "Runtime | None" = None
_current_lock = threading.Lock()


class Runtime:
    """Config + store + task loader, built lazily from one Config."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config.load()
        self._store: JobStore | None = None
        self._lock = threading.RLock()
        self.metric_hook: Callable[..., Any] | None = resolve_callable(self.config.metric_hook, "metric_hook")
        from .task import TaskLoader
        self.tasks = TaskLoader(self.config)

    @property
    def keys(self) -> Keys:
        """Redis key names under this runtime's prefix (for inspection; the store owns the keys)."""
        return Keys(self.config.redis_prefix)

    @property
    def redis_url(self) -> str:
        """The URL in use; for the embedded server, its unix socket."""
        url = self.config.redis
        if url:
            return url
        from .embedded import embedded_socket
        directory = os.path.join(os.getcwd(), self.config.embedded_dir) \
            if not os.path.isabs(self.config.embedded_dir) else self.config.embedded_dir
        return "unix://" + embedded_socket(directory)

    @property
    def store(self) -> JobStore:
        """The job store, opened on first use from ``redis_url`` (``mrqcore.store.open_store``)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.redis_url, self.config.redis_prefix)
        return self._store

    def metric(self, name: str, incr: int = 1, **kwargs: Any) -> None:
        """Call the configured metric hook; a hook that raises is logged, never propagated."""
        if self.metric_hook is not None:
            try:
                self.metric_hook(name, incr, **kwargs)
            except Exception:
                logging.getLogger("mrqc.metrics").exception("metric hook failed for %r", name)

    def close(self) -> None:
        """Release the store's connections (it reconnects if used again)."""
        if self._store is not None:
            self._store.close()


def get_runtime() -> Runtime:
    """The current runtime, built from ``Config.load()`` on first use."""
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                _current = Runtime()
    return _current


def set_runtime(runtime: Runtime | None) -> Runtime | None:
    """Install ``runtime`` as current; returns the previous one. ``None`` resets to lazy loading."""
    global _current
    with _current_lock:
        previous, _current = _current, runtime
    return previous


def configure(config_file: str | None = None, **settings: Any) -> Runtime:
    """Build a runtime from the usual sources plus ``settings`` and make it current."""
    runtime = Runtime(Config.load(config_file=config_file, overrides=settings))
    set_runtime(runtime)
    return runtime
