"""``mrqc ping``, ``mrqc job ID`` and ``mrqc jobs --logs``: on real workers and real records."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from mrqcore.job import queue_job
from tests.conftest import ROOT, wait_for, worker_env


@pytest.fixture
def mrqc(config_values):
    """Run ``mrqc ARGS...`` against this test's prefix; returns (exit code, stdout + stderr)."""

    def run(*args: str) -> tuple[int, str]:
        proc = subprocess.run([sys.executable, "-m", "mrqcore.cli", *args], env=worker_env(config_values),
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout + proc.stderr

    return run


def test_ping_fails_without_a_live_worker_and_answers_with_one(runtime, mrqc, start_worker):
    code, out = mrqc("ping")
    assert code != 0 and "no live worker" in out
    worker = start_worker("ops", "--name", "pinged")
    wait_for(lambda: mrqc("ping")[0] == 0, timeout=30, message="ping answered")
    code, out = mrqc("ping", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["workers"][0]["id"].startswith("pinged.")
    assert data["workers"][0]["pid"] == worker.pid
    code, out = mrqc("ping", "--queue", "elsewhere")
    assert code != 0 and "serving 'elsewhere'" in out
    worker.signal(signal.SIGTERM)
    worker.wait(30)
    code, out = mrqc("ping")  # a stopped worker unregisters itself
    assert code != 0


def test_ping_with_a_celery_app(runtime, mrqc, start_worker):
    start_worker("-A", "tests.ops.celery_proj", "ops-celery")
    wait_for(lambda: mrqc("ping", "-A", "tests.ops.celery_proj")[0] == 0, timeout=30, message="ping -A")


def test_job_and_jobs_show_log_lines_and_progress(runtime, mrqc, run_burst):
    ok = queue_job("tests.ops.tasks.Hello", {"n": 5}, queue="ops", runtime=runtime)
    bad = queue_job("tests.ops.tasks.Boom", {"what": "cli"}, queue="ops", runtime=runtime)
    run_burst("ops")
    code, out = mrqc("job", ok)
    assert code == 0, out
    assert f"job {ok}: success  tests.ops.tasks.Hello" in out and "progress: 100%" in out
    assert "hello-line 5" in out
    code, out = mrqc("job", bad)
    assert "exception: tests.ops.tasks.OpsError" in out and "Traceback" in out and "about to fail on cli" in out
    code, out = mrqc("job", bad, "--json")
    data = json.loads(out)
    assert data["status"] == "failed" and any("about to fail on cli" in line for line in data["log_lines"])
    code, out = mrqc("job", "no-such-id")
    assert code != 0 and "no job with id 'no-such-id'" in out

    code, out = mrqc("jobs", "--logs", "5")
    assert code == 0 and "progress" in out and "100%" in out
    assert f"--- {ok}" in out and "hello-line 5" in out
    code, out = mrqc("jobs", "--logs", "1", "--json")
    rows = {row["id"]: row for row in json.loads(out)}
    assert rows[ok]["progress"] == 1.0 and rows[ok]["log_lines"][-1].endswith("hello-line 5")
