"""Fixtures of the Celery wire tests: both transports, real Celery and mrqc workers as subprocesses.

Each test gets its own queue name (``wire-<hex>``), its own mrqc key prefix
(the ``prefix`` fixture) and its own runs list; the Redis broker lives in
db 11 of the tests' Redis so kombu's keys stay apart from mrqc's.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
import redis as redis_lib

from tests.conftest import ROOT, require_service, worker_env

AMQP_URL = os.environ.get("MRQC_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _amqp_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Wire:
    """One test's wire: broker URL, result backend, queue, and the key its tasks record runs in."""

    transport: str
    broker: str
    backend: str
    queue: str
    runs_key: str
    redis_url: str
    prefix: str
    #: other broker queues a test made (deleted after it, with the queue and its dead letters)
    extra_queues: list[str] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {"WIRE_BROKER": self.broker, "WIRE_BACKEND": self.backend, "WIRE_QUEUE": self.queue,
               "WIRE_RUNS_REDIS": self.redis_url}
        env.update(extra)
        return env

    def runs(self) -> list[str]:
        client = redis_lib.Redis.from_url(self.redis_url)
        return [v.decode() for v in client.lrange(self.runs_key, 0, -1)]


@pytest.fixture(params=["redis", "amqp"])
def wire(request: Any, redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Wire]:
    if not redis_url.startswith("redis://"):
        require_service("redis", "the wire tests need a TCP Redis")
    base = redis_url.rsplit("/", 1)[0]
    if request.param == "amqp":
        if not _amqp_answers():
            require_service("rabbitmq", f"the Celery wire tests need RabbitMQ at {AMQP_URL}")
        broker = AMQP_URL
    else:
        broker = base + "/11"
    queue = f"wire-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("MRQC_REDIS", redis_url)
    monkeypatch.setenv("MRQC_REDIS_PREFIX", prefix)
    monkeypatch.setenv("WIRE_RUNS_REDIS", redis_url)
    w = Wire(request.param, broker, redis_url, queue, prefix + "runs", redis_url, prefix)
    yield w
    _cleanup(w)


def _cleanup(w: Wire) -> None:
    from kombu import Connection
    try:
        with Connection(w.broker) as conn:
            channel = conn.channel()
            for name in (w.queue, w.queue + ".dead", *w.extra_queues):
                try:
                    channel.queue_delete(name)
                except Exception:
                    pass
    except Exception:
        pass


class Proc:
    """A worker subprocess with its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], stop_signal: int = signal.SIGTERM,
                 stop_wait: float = 15.0) -> None:
        self.stop_signal, self.stop_wait = stop_signal, stop_wait
        self.log = tempfile.NamedTemporaryFile(prefix="wire-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)

    def output(self) -> str:
        with open(self.log.name, errors="replace") as fh:
            return fh.read()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=self.stop_wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def procs(config_values: dict[str, Any]) -> Iterator[Callable[..., Proc]]:
    """``procs("celery"|"mrqc", wire, *args, env={...})`` starts a worker subprocess (stopped after the test)."""
    started: list[Proc] = []

    def start(kind: str, w: Wire, *args: str, env: dict[str, str] | None = None) -> Proc:
        extra = w.env(WIRE_SIDE=kind, **(env or {}))
        if kind == "celery":
            cmd = [sys.executable, "-m", "celery", "-A", "tests.adapters.celery_side", "worker", "--pool", "solo",
                   "-Q", w.queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO",
                   "-n", f"celery-{uuid.uuid4().hex[:6]}@%h", *args]
        else:
            cmd = [sys.executable, "-m", "mrqcore.cli", "worker", "-A", "tests.adapters.mrqc_side", "--celery-wire",
                   *args]
        # A Celery worker is stopped cold (SIGQUIT), then killed after 2 s: on RabbitMQ its shutdown takes
        # ~10 s even cold, and is not under test (its work is counted before the test ends).
        if kind == "celery":
            proc = Proc(cmd, worker_env(config_values, extra), signal.SIGQUIT, 2.0)
        else:
            proc = Proc(cmd, worker_env(config_values, extra))
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
    for proc in started:
        os.unlink(proc.log.name)


@pytest.fixture
def celery_client(wire: Wire) -> Iterator[Any]:
    """A real Celery app (the ``celery`` package) in this process, on the test's broker and backend."""
    from tests.adapters.celery_side import make_app
    app = make_app(wire.broker, wire.backend, wire.queue)
    yield app
    app.close()


@pytest.fixture
def mrqc_client(wire: Wire) -> Iterator[Any]:
    """An mrqc app with ``celery_wire`` on, in this process."""
    from tests.adapters.mrqc_side import make_app
    app = make_app(wire.broker, wire.backend, wire.queue)
    yield app


def broker_holds(w: Wire, task_id: str) -> bool:
    """True if the broker still holds the message of ``task_id`` (ready, or delivered and unacknowledged)."""
    from kombu import Connection
    with Connection(w.broker) as conn:
        if conn.transport.driver_type == "amqp":
            ok = conn.channel().queue_declare(queue=w.queue, passive=True)
            return ok.message_count > 0  # unacknowledged messages come back when their consumer is gone
    client = redis_lib.Redis.from_url(w.broker)
    blobs = client.lrange(w.queue, 0, -1) + list(client.hvals("unacked"))
    return any(task_id.encode() in blob for blob in blobs)
