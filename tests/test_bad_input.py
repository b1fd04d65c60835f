"""Bad input gets a clear error or a failed job with a telling exceptiontype, and loses nothing else."""
from __future__ import annotations

import subprocess
import sys

from mrqcore.job import Job, queue_job, queue_jobs
from tests.conftest import ROOT, worker_env


def test_unknown_and_invalid_task_paths_fail_alone(runtime, run_burst):
    good = queue_jobs("tests.tasks.basic.Add", [{"a": 1, "b": 1}] * 3)
    missing_module = queue_job("tests.tasks.nosuchmodule.Task", {})
    missing_class = queue_job("tests.tasks.basic.NoSuchTask", {})
    not_a_class = queue_job("tests.tasks.basic.NOT_A_TASK", {})
    not_a_task = queue_job("tests.tasks.basic.NotATask", {})
    no_dot = queue_job("justaname", {})
    run_burst()
    expect = {
        missing_module: ("mrqcore.exceptions.TaskNotFoundError", "no module named 'tests.tasks.nosuchmodule'"),
        missing_class: ("mrqcore.exceptions.TaskNotFoundError", "has no attribute 'NoSuchTask'"),
        not_a_class: ("mrqcore.exceptions.NotATaskError", "is a str, not a subclass"),
        not_a_task: ("mrqcore.exceptions.NotATaskError", "is a type, not a subclass"),
        no_dot: ("mrqcore.exceptions.TaskNotFoundError", "not of the form 'module.TaskClass'"),
    }
    for job_id, (exceptiontype, message) in expect.items():
        job = Job(job_id).fetch()
        assert job.status == "failed", job_id
        assert job.exceptiontype == exceptiontype
        assert message in job.traceback
    assert [Job(i).fetch().result for i in good] == [2, 2, 2]


def test_unserializable_result_fails_the_job_with_a_clear_type(runtime, run_burst):
    job_id = queue_job("tests.tasks.basic.BadResult", {})
    run_burst()
    job = Job(job_id).fetch()
    assert job.status == "failed"
    assert job.exceptiontype == "mrqcore.exceptions.SerializationError"
    assert "result['when'] is a set" in job.traceback


def test_invalid_config_value_is_a_usage_error_naming_it(config_values):
    env = worker_env(config_values, {"MRQC_GREENLETS": "0"})
    proc = subprocess.run([sys.executable, "-m", "mrqcore.cli", "worker", "--burst"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "greenlets" in proc.stderr and "minimum" in proc.stderr


def test_bad_redis_url_is_named(config_values):
    env = worker_env(config_values, {"MRQC_REDIS": "http://localhost:6379"})
    proc = subprocess.run([sys.executable, "-m", "mrqcore.cli", "run", "--queue", "q", "tests.tasks.basic.Add"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "redis" in proc.stderr and "http" in proc.stderr


def test_malformed_record_fails_alone_and_the_worker_goes_on(runtime, run_burst):
    # A record written by something else (or corrupted): params that are not JSON.
    bad = "malformed-1"
    runtime.store.client.hset(runtime.keys.job(bad), mapping={
        "path": "tests.tasks.basic.Add", "params": "{not json", "status": "queued", "queue": "default",
        "retry_count": "zero", "datequeued": "yesterday"})
    runtime.store.client.rpush(runtime.keys.queue("default"), bad)
    good = queue_job("tests.tasks.basic.Add", {"a": 2, "b": 2})
    run_burst()
    job = Job(bad).fetch(("status", "exceptiontype", "traceback"))
    assert job.status == "failed"
    assert job.exceptiontype == "mrqcore.exceptions.MalformedJobError"
    assert "params" in job.traceback
    assert Job(good).fetch().result == 4
