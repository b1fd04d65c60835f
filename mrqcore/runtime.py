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
from urllib.parse import urlparse

import redis

from .config import Config, resolve_callable
from .exceptions import ConfigError
from .keys import Keys
from .store.redis import RedisJobStore
from .urls import mask_url

_pools: list[redis.ConnectionPool] = []
_current: "Runtime | None" = None
_current_lock = threading.Lock()


class Runtime:
    """Config + Redis client + store + task loader, built lazily from one Config."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config.load()
        self._redis: redis.Redis | None = None
        self._store: RedisJobStore | None = None
        self._lock = threading.RLock()
        self.metric_hook: Callable[..., Any] | None = resolve_callable(self.config.metric_hook, "metric_hook")
        from .task import TaskLoader
        self.tasks = TaskLoader(self.config)

    @property
    def keys(self) -> Keys:
        return self.store.keys

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
    def redis(self) -> redis.Redis:
        if self._redis is None:
            with self._lock:
                if self._redis is None:
                    self._redis = connect(self.redis_url)
        return self._redis

    @property
    def store(self) -> RedisJobStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = RedisJobStore(self.redis, self.config.redis_prefix)
        return self._store

    def metric(self, name: str, incr: int = 1, **kwargs: Any) -> None:
        """Call the configured metric hook; a hook that raises is logged, never propagated."""
        if self.metric_hook is not None:
            try:
                self.metric_hook(name, incr, **kwargs)
            except Exception:
                logging.getLogger("mrqc.metrics").exception("metric hook failed for %r", name)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.connection_pool.disconnect()


def connect(url: str) -> redis.Redis:
    """A decoded-responses Redis client for ``url``; a bad URL is a ConfigError naming 'redis'."""
    scheme = urlparse(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("redis", f"unsupported URL scheme {scheme!r} in {mask_url(url)!r} "
                                   "(use redis://, rediss:// or unix://)")
    try:
        pool = redis.ConnectionPool.from_url(url, decode_responses=True, health_check_interval=30)
    except ValueError as exc:
        raise ConfigError("redis", f"cannot parse {mask_url(url)!r}: {mask_url(str(exc))}") from exc
    _pools.append(pool)
    return redis.Redis(connection_pool=pool)


def close_all_pools() -> None:
    for pool in _pools:
        try:
            pool.disconnect()
        except Exception:  # at exit, a pool may already be half torn down
            pass


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
