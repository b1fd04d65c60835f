"""Run one canvas on a real Celery worker and on an ``mrqc worker -A``, and compare.

``sides`` (module-scoped fixture, in the tests' conftest-free style: import it into a test module)
starts, once per module, a real ``celery worker`` (the ``celery`` package, Redis broker and
result backend in db 12 of the tests' Redis, a queue of its own) and an ``mrqc worker -A
tests.compat.canvas_mrqc`` (its own key prefix), both running the tasks of
``tests.compat.canvas_shared``. ``sides.run(build)`` calls ``build(tasks, canvas)`` once per side
(``tasks``: that side's shared tasks, ``canvas``: the ``celery`` or ``mrqc`` module, for
``chain``/``group``/``chord``) and returns ``(celery_value, mrqc_value)``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
import redis as redis_lib

from tests.conftest import ROOT, require_service, wait_for

CELERY_DB = 12


@dataclass
class Side:
    """One side: its name, app, tasks and canvas module."""

    name: str
    app: Any
    canvas: Any

    @property
    def tasks(self) -> dict[str, Any]:
        return self.app.canvas_tasks


@dataclass
class Sides:
    celery: Side
    mrqc: Side
    runs_url: str
    key_prefix: str
    env: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def run(self, build: Callable[[dict[str, Any], Any], Any]) -> tuple[Any, Any]:
        """``build(tasks, canvas)`` on each side; returns (celery's value, mrqc's value)."""
        return build(self.celery.tasks, self.celery.canvas), build(self.mrqc.tasks, self.mrqc.canvas)

    def each(self) -> list[Side]:
        return [self.celery, self.mrqc]

    def key(self, name: str) -> str:
        """A Redis list name for ``canvas.record``/``canvas.order`` (deleted after the module)."""
        return f"{self.key_prefix}{name}-{uuid.uuid4().hex[:8]}"

    def runs(self, key: str) -> list[str]:
        return [v.decode() for v in redis_lib.Redis.from_url(self.runs_url).lrange(key, 0, -1)]

    def start_one_at_a_time(self, queue: str) -> None:
        """Start, on each side, one more worker serving only ``queue``, one task at a time (Celery: solo
        pool, prefetch 1; mrqc: one greenlet, batches of one); stopped with the module's workers."""
        celery_cmd = [sys.executable, "-m", "celery", "-A", "tests.compat.canvas_celery", "worker", "--pool", "solo",
                      "--prefetch-multiplier", "1", "-Q", queue, "--without-heartbeat", "--without-gossip",
                      "--without-mingle", "-l", "INFO", "-n", f"canvas-{uuid.uuid4().hex[:6]}@%h"]
        mrqc_cmd = [sys.executable, "-m", "mrqcore.cli", "worker", "-A", "tests.compat.canvas_mrqc", queue,
                    "--greenlets", "1"]
        for cmd in (celery_cmd, mrqc_cmd):
            proc, log = _start(cmd, dict(self.env, MRQC_DEQUEUE_BATCH="1"))
            self.procs.append(proc)
            self.logs.append(log)

    def output(self) -> str:
        out = []
        for path in self.logs:
            with open(path, errors="replace") as fh:
                out.append(f"--- {path}\n{fh.read()[-4000:]}")
        return "\n".join(out)


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    log = tempfile.NamedTemporaryFile(prefix="canvas-", suffix=".log", delete=False)
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT), log.name


def _wait_ready(check: Callable[[], bool], proc: subprocess.Popen, what: str, log: str) -> None:
    def ready() -> bool:
        return check() or proc.poll() is not None
    try:
        wait_for(ready, timeout=60, interval=0.1, message=f"{what} to start")
        failed = proc.poll() is not None and not check()
    except AssertionError:
        failed = True
    if failed:
        with open(log, errors="replace") as fh:
            raise AssertionError(f"{what} did not start:\n{fh.read()[-4000:]}")


@pytest.fixture(scope="module")
def sides(redis_url: str) -> Iterator[Sides]:
    import celery  # noqa: F401 - a test dependency: an ImportError here is a broken install, not a skip
    if not redis_url.startswith("redis://"):
        require_service("redis", "the canvas side-by-side tests need a TCP Redis for the Celery broker")
    base = redis_url.rsplit("/", 1)[0]
    broker = f"{base}/{CELERY_DB}"
    queue = f"canvas-{uuid.uuid4().hex[:10]}"
    prefix = f"test-{uuid.uuid4().hex[:10]}:"
    env = dict(os.environ)
    env.update(PYTHONPATH=os.pathsep.join([ROOT, env.get("PYTHONPATH", "")]), CANVAS_QUEUE=queue,
               CANVAS_CELERY_BROKER=broker, CANVAS_MRQC_REDIS=redis_url, CANVAS_MRQC_PREFIX=prefix,
               CANVAS_RUNS_REDIS=redis_url, MRQC_REDIS=redis_url, MRQC_REDIS_PREFIX=prefix,
               MRQC_POLL_INTERVAL="0.2", MRQC_HEARTBEAT_INTERVAL="0.5")
    os.environ["CANVAS_RUNS_REDIS"] = redis_url
    from tests.compat.canvas_celery import make_app as celery_app
    from tests.compat.canvas_mrqc import make_app as mrqc_app
    import celery
    import mrqc
    result = Sides(Side("celery", celery_app(broker, queue), celery), Side("mrqc", mrqc_app(redis_url, prefix, queue),
                                                                             mrqc), redis_url, prefix, env)
    cel, cel_log = _start([sys.executable, "-m", "celery", "-A", "tests.compat.canvas_celery", "worker",
                           "--pool", "threads", "-c", "8", "-Q", queue, "--without-heartbeat", "--without-gossip",
                           "--without-mingle", "-l", "INFO", "-n", f"canvas-{uuid.uuid4().hex[:6]}@%h"], env)
    mrq, mrq_log = _start([sys.executable, "-m", "mrqcore.cli", "worker", "-A", "tests.compat.canvas_mrqc", queue,
                           "--greenlets", "10"], env)
    result.procs += [cel, mrq]
    result.logs += [cel_log, mrq_log]
    try:
        _wait_ready(lambda: bool(result.celery.app.control.ping(timeout=0.5)), cel, "celery worker", cel_log)
        probe = result.mrqc.tasks["add"].delay(1, 1)
        _wait_ready(lambda: probe.ready(), mrq, "mrqc worker", mrq_log)
        yield result
    finally:
        for proc in result.procs:
            proc.terminate()
        for proc in result.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for path in result.logs:
            os.unlink(path)
        client = redis_lib.Redis.from_url(redis_url)
        stale = list(client.scan_iter(match=prefix + "*", count=1000))
        if stale:
            client.delete(*stale)
        celery_client = redis_lib.Redis.from_url(broker)
        celery_client.delete(queue, *[f"{queue}\x06\x16{n}" for n in range(1, 10)])
        result.celery.app.close()
