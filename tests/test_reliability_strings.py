"""Issue 9 items 1 and 2: strings UTF-8 cannot encode never stop a job nor the worker.

A lone surrogate (``os.listdir`` on a non-UTF-8 file name) in a log line, an
exception message or a result: the job ends with a clear status, and later
jobs in the same worker still run. Real ``--burst`` workers.
"""
from __future__ import annotations

from mrqcore.job import Job, queue_job

TASKS = "tests.tasks.reliability."


def test_log_line_with_surrogate_succeeds_and_later_jobs_run(runtime, run_burst):
    logged = queue_job(TASKS + "LogSurrogate", {})
    later = [queue_job("tests.tasks.basic.Add", {"a": i, "b": 1}) for i in range(3)]
    run_burst()
    job = Job(logged).fetch()
    assert job.status == "success"
    assert job.result == "logged"
    lines = job.log_lines
    assert any("opening caf\\udce9" in line for line in lines), lines
    assert [Job(j).fetch().status for j in later] == ["success"] * 3


def test_exception_with_surrogate_fails_with_readable_traceback(runtime, run_burst):
    failing = queue_job(TASKS + "RaiseSurrogate", {})
    later = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 1})
    run_burst()
    job = Job(failing).fetch()
    assert job.status == "failed"
    assert job.exceptiontype == "OSError"
    assert "OSError: cannot read caf\\udce9" in job.traceback
    assert "tests/tasks/reliability.py" in job.traceback  # the frames are there, not only the message
    assert job.traceback_history[-1]["status"] == "failed"
    assert Job(later).fetch().status == "success"


def test_retry_caused_by_surrogate_exception_is_recorded(runtime, run_burst):
    retried = queue_job(TASKS + "RetrySurrogate", {})
    run_burst()
    job = Job(retried).fetch()
    assert job.status == "maxretries"
    assert "cannot read caf\\udce9" in job.traceback


def test_result_with_surrogate_fails_the_job_naming_the_value(runtime, run_burst):
    returned = queue_job(TASKS + "ReturnSurrogate", {})
    later = queue_job("tests.tasks.basic.Add", {"a": 2, "b": 2})
    run_burst()
    job = Job(returned).fetch()
    assert job.status == "failed"
    assert job.exceptiontype == "mrqcore.exceptions.SerializationError"
    assert "result['name']" in job.traceback and "lone surrogate" in job.traceback
    assert Job(later).fetch().result == 4


def test_any_other_field_with_surrogate_does_not_stop_the_worker(runtime, run_burst):
    odd = queue_job(TASKS + "RetryToOddQueue", {})
    later = queue_job("tests.tasks.basic.Add", {"a": 3, "b": 4})
    run_burst()
    job = Job(odd).fetch()
    assert job.status == "retry"
    assert job.queue == "q-caf\\udce9"
    assert Job(later).fetch().result == 7
