"""The runtime: one Config with the connections, the store, the tasks and the middleware built from it.

Every API call (``queue_job``, ``Job``, the worker) works through a Runtime:
the one passed as ``runtime=``, else the one ``get_runtime()`` returns. That
choice follows one rule, stated here and in docs/configuration.md:

1. **an explicit runtime**: a ``runtime=`` argument; else the one installed
   with ``set_runtime()`` / ``mrqcore.configure()``, or by a worker for
   itself at start (``mrqc worker -A proj``: the worker's runtime is also the
   app's, one object);
2. **the provider's runtime**: a layer above may install a provider
   (``set_runtime_provider``). The Celery layer does: it returns the current
   Celery app's own runtime, built from the app's settings (``broker_url``...),
   when that app configures a Redis broker; None otherwise;
3. **the default runtime**, built once from ``Config.load()``
   (``mrqc_config.py`` in the working directory, ``MRQC_*`` variables; with no
   ``redis`` setting, the embedded Redis), so plain Python code can queue jobs
   with no set-up call.

Rule 2 is asked on every call that names no runtime, so a ``queue_job`` made
before an app's first ``.delay()`` and one made after both go to the app's
Redis: the order of calls does not matter.

A runtime owns its task loader (``runtime.tasks``, with its own registry) and
its middleware (``runtime.middleware``, started from the ``middleware``
setting). It holds no job state; it is safe to share between greenlets.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Any, Callable

from .config import Config, resolve_callable
from .keys import Keys
from .store import JobStore, open_store

_explicit: "Runtime | None" = None  # rule 1: set_runtime(), configure(), a worker
_default: "Runtime | None" = None  # rule 3: built from Config.load() on first need
_provider: "Callable[[], Runtime | None] | None" = None  # rule 2: installed by a layer above
_current_lock = threading.Lock()


class Runtime:
    """Config + store + task loader + middleware, built lazily from one Config.

    ``tasks`` (a ``TaskLoader`` with this runtime's own registry) and
    ``middleware`` (a ``MiddlewareList``, started from the ``middleware``
    setting: a bad entry is a ConfigError here) belong to this instance only.
    """

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config.load()
        self._store: JobStore | None = None
        self._lock = threading.RLock()
        self.metric_hook: Callable[..., Any] | None = resolve_callable(self.config.metric_hook, "metric_hook")
        from .middleware import MiddlewareList, load_middleware
        from .task import TaskLoader
        self.tasks = TaskLoader(self.config, runtime=self)
        self.middleware = MiddlewareList(load_middleware(self.config.middleware))

    @property
    def keys(self) -> Keys:
        """Redis key names under this runtime's prefix (for inspection; the store owns the keys).

        A store with its own key layout (the Redis Cluster store's hash-tagged names) gives its own.
        """
        store = self._store
        if store is None and "+cluster://" in (self.config.redis or ""):
            store = self.store  # the names depend on the store: open it (no other store is opened here)
        keys = getattr(store, "keys", None)
        return keys if isinstance(keys, Keys) else Keys(self.config.redis_prefix)

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
    """The runtime of a call that names none: explicit > provider's > default (see the module docstring)."""
    global _default
    explicit = _explicit
    if explicit is not None:
        return explicit
    provider = _provider
    if provider is not None:
        provided = provider()
        if provided is not None:
            return provided
    if _default is None:
        with _current_lock:
            if _default is None:
                _default = Runtime()
    return _default


def explicit_runtime() -> Runtime | None:
    """The runtime installed by ``set_runtime``/``configure``/a worker, or None; never builds one."""
    return _explicit


def set_runtime(runtime: Runtime | None) -> Runtime | None:
    """Install ``runtime`` as the explicit runtime; returns the previous one. ``None`` removes it."""
    global _explicit
    with _current_lock:
        previous, _explicit = _explicit, runtime
    return previous


def set_runtime_provider(provider: Callable[[], Runtime | None] | None) -> Callable[[], Runtime | None] | None:
    """Install the provider of rule 2 (one per process; returns the previous one).

    ``provider()`` is called by every ``get_runtime()`` that finds no explicit
    runtime: it must be cheap, must not call ``get_runtime()``, and returns a
    Runtime or None (None: fall through to the default runtime).
    """
    global _provider
    with _current_lock:
        previous, _provider = _provider, provider
    return previous


def configure(config_file: str | None = None, **settings: Any) -> Runtime:
    """Build a runtime from the usual sources plus ``settings`` and make it the explicit one."""
    runtime = Runtime(Config.load(config_file=config_file, overrides=settings))
    set_runtime(runtime)
    return runtime
