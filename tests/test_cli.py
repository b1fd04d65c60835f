"""``mrqc run``: in-process runs and queueing from the command line."""
from __future__ import annotations

import json
import subprocess
import sys

from mrqcore.job import Job
from tests.conftest import ROOT, worker_env


def mrqc(config_values, *args):
    return subprocess.run([sys.executable, "-m", "mrqcore.cli", *args], env=worker_env(config_values),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_run_prints_the_json_result(runtime, config_values):
    proc = mrqc(config_values, "run", "tests.tasks.basic.Echo", '{"x": [1, 2]}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"x": [1, 2]}
    assert list(runtime.store.iter_ids()) == []  # nothing stored


def test_run_failure_exits_non_zero_with_the_traceback(runtime, config_values):
    proc = mrqc(config_values, "run", "tests.tasks.basic.Fail", '{"message": "cli boom"}')
    assert proc.returncode == 1
    assert "ValueError: cli boom" in proc.stderr


def test_run_with_queue_prints_the_id(runtime, config_values):
    proc = mrqc(config_values, "run", "--queue", "cliq", "tests.tasks.basic.Add", '{"a": 1, "b": 2}')
    assert proc.returncode == 0, proc.stderr
    job = Job(proc.stdout.strip()).fetch()
    assert (job.status, job.queue, job.params) == ("queued", "cliq", {"a": 1, "b": 2})


def test_run_rejects_bad_json_and_unknown_tasks(runtime, config_values):
    proc = mrqc(config_values, "run", "tests.tasks.basic.Add", "{not json")
    assert proc.returncode == 2 and "JSON_PARAMS" in proc.stderr
    proc = mrqc(config_values, "run", "tests.tasks.nothere.Task", "{}")
    assert proc.returncode == 1 and "TaskNotFoundError" in proc.stderr
