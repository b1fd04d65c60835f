"""The context API, inside a real worker and outside any job."""
from __future__ import annotations

import pytest

from mrqcore import context
from mrqcore.exceptions import MrqcError
from mrqcore.job import Job, queue_job


def test_progress_run_task_and_is_main_task(runtime, run_burst):
    progress = queue_job("tests.tasks.basic.Progress", {})
    sub = queue_job("tests.tasks.basic.SubTask", {"b": 41})
    run_burst()
    assert Job(progress).fetch().result == 0.5
    result = Job(sub).fetch().result
    assert result == {"main": True, "sum": 42, "job": sub}


def test_outside_a_job(runtime):
    assert context.get_current_job() is None
    assert context.get_current_worker() is None
    assert context.get_current_config() is runtime.config
    context.set_current_job_progress(0.3)  # a no-op outside a job
    with pytest.raises(MrqcError, match="retry_current_job.*outside of a job"):
        context.retry_current_job()
    with pytest.raises(MrqcError, match="abort_current_job.*outside of a job"):
        context.abort_current_job()


def test_connections_are_lazy_and_extensible(runtime):
    built = []

    def factory(config):
        built.append(config)
        return {"service": "search"}

    context.connections.register("search", factory)
    assert built == []
    assert context.connections.search == {"service": "search"}
    assert context.connections.search is context.connections.search
    assert len(built) == 1 and built[0] is runtime.config
    assert context.connections.redis.ping()
    with pytest.raises(AttributeError, match="no connection factory named 'nosuch'"):
        context.connections.nosuch


def test_queue_from_plain_python_needs_no_setup(config_values, tmp_path):
    # A fresh interpreter, only MRQC_* variables: queue_job works with no set-up call.
    import subprocess
    import sys

    from tests.conftest import ROOT, worker_env
    code = ("from mrqcore.job import queue_job, Job; i = queue_job('tests.tasks.basic.Add', {'a': 1, 'b': 2});"
            "print(Job(i).fetch().status)")
    proc = subprocess.run([sys.executable, "-c", code], env=worker_env(config_values), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "queued"
