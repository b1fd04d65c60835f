"""Zero-setup: with no Redis URL, a client and a worker in one folder share an embedded real Redis."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRQC_")}
    env["PYTHONPATH"] = ROOT
    return env


def _mrqc(cwd, *args):
    return subprocess.run([sys.executable, "-m", "mrqcore.cli", *args], env=_env(), cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_client_and_worker_share_the_embedded_redis(tmp_path):
    queued = _mrqc(tmp_path, "run", "--queue", "default", "tests.tasks.basic.Add", '{"a": 40, "b": 2}')
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip()
    assert (tmp_path / ".mrqc" / "redis.db.settings").exists() or (tmp_path / ".mrqc").is_dir()

    worked = _mrqc(tmp_path, "worker", "--burst")
    assert worked.returncode == 0, worked.stderr
    assert "burst: queues drained" in worked.stderr

    check = subprocess.run(
        [sys.executable, "-c", f"from mrqcore.job import get_job_result; print(get_job_result({job_id!r}))"],
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == "{'status': 'success', 'result': 42}"


def test_queued_jobs_survive_the_embedded_server_stopping(tmp_path):
    # The server stops when its last process exits; the job must be there when it starts again.
    queued = _mrqc(tmp_path, "run", "--queue", "default", "tests.tasks.basic.Add", '{"a": 1, "b": 1}')
    assert queued.returncode == 0, queued.stderr
    stop = subprocess.run([sys.executable, "-c",
                           "from mrqcore.embedded import embedded_socket, stop_embedded;"
                           "embedded_socket('.mrqc'); stop_embedded('.mrqc')"],
                          env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert stop.returncode == 0, stop.stderr
    worked = _mrqc(tmp_path, "worker", "--burst")
    assert worked.returncode == 0, worked.stderr
    check = subprocess.run(
        [sys.executable, "-c", "from mrqcore.job import get_job_result;"
                               f"print(get_job_result({queued.stdout.strip()!r})['status'])"],
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert check.stdout.strip() == "success", check.stderr
