"""What a worker's log says about its jobs (acceptance 2), read from real ``mrqc worker`` processes."""
from __future__ import annotations

import json
import logging

import pytest

from mrqcore.job import Job, queue_job


def _queue(runtime, path: str, params: dict | None = None, queue: str = "ops") -> str:
    return queue_job(f"tests.ops.tasks.{path}", params or {}, queue=queue, runtime=runtime)


def test_failure_logged_at_error_with_job_id_task_name_and_traceback(runtime, run_burst):
    job_id = _queue(runtime, "Boom", {"what": "disk"})
    ok_id = _queue(runtime, "Hello", {"n": 7})
    output = run_burst("ops")
    error = [line for line in output.splitlines() if "[ERROR]" in line]
    assert len(error) == 1, output
    assert f"tests.ops.tasks.Boom[{job_id}]" in error[0] and "OpsError: boom on disk" in error[0]
    after = output.split(error[0], 1)[1]
    assert "Traceback (most recent call last):" in after and 'raise OpsError(f"boom on' in after
    # The task's own line carries the job id and task name too; success is INFO with the run time.
    assert any("about to fail on disk" in line and job_id in line and "tests.ops.tasks.Boom" in line
               for line in output.splitlines()), output
    assert any(f"tests.ops.tasks.Hello[{ok_id}] succeeded in" in line and "[INFO]" in line
               for line in output.splitlines()), output


def test_retry_and_warning_outcomes(runtime, run_burst):
    flaky = _queue(runtime, "FlakyOnce")
    aborted = _queue(runtime, "AbortPlain")
    output = run_burst("ops")
    lines = output.splitlines()
    assert any(f"FlakyOnce[{flaky}] retry in 0.0s: OpsError: first try fails" in line and "[INFO]" in line
               for line in lines), output
    assert any(f"AbortPlain[{aborted}] abort:" in line and "[WARNING]" in line for line in lines), output


@pytest.mark.parametrize("flag", ["--log-level", "-l"])
def test_log_level_error_silences_info_task_lines(runtime, run_burst, flag):
    ok_id = _queue(runtime, "Hello", {"n": 1})
    _queue(runtime, "Boom", {"what": "quiet"})
    output = run_burst("ops", flag, "ERROR")
    assert "hello-line" not in output and "about to fail" not in output and "succeeded" not in output
    assert "[INFO]" not in output and "[WARNING]" not in output
    assert "OpsError: boom on quiet" in output
    # Filtering is about printing: the job's own stored log keeps its INFO line.
    assert any("hello-line 1" in line for line in Job(ok_id, runtime).log_lines)


def test_json_lines_parse(runtime, run_burst):
    boom = _queue(runtime, "Boom", {"what": "json"})
    ok_id = _queue(runtime, "Hello", {"n": 2})
    output = run_burst("ops", "--log-format", "json", "--log-level", "DEBUG")
    records = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    error = [r for r in records if r["level"] == "ERROR"]
    assert len(error) == 1
    assert error[0]["job_id"] == boom and error[0]["task_name"] == "tests.ops.tasks.Boom"
    assert error[0]["status"] == "failed" and "Traceback" in error[0]["exc_info"]
    task_line = next(r for r in records if "hello-line 2" in r["message"])
    assert task_line["job_id"] == ok_id and task_line["task_name"] == "tests.ops.tasks.Hello"
    success = next(r for r in records if r["level"] == "INFO" and r.get("status") == "success")
    assert success["job_id"] == ok_id and isinstance(success["runtime"], float)


def test_bad_log_format_is_a_clear_error(start_worker):
    worker = start_worker("ops", env={"MRQC_LOG_FORMAT": "xml"})
    assert worker.wait(30) != 0
    assert "log_format" in worker.output() and "'xml'" in worker.output()


# --- Celery's settings and signals -------------------------------------------------------------


def test_celery_task_log_format_setting(runtime, run_burst):
    from tests.ops import celery_proj
    failing = celery_proj.boom.delay(password="x")
    output = run_burst("-A", "tests.ops.celery_proj", "ops-celery",
                       env={"OPS_TASK_LOG_FORMAT": "TASKLINE %(task_name)s %(task_id)s: %(message)s"})
    assert f"TASKLINE tests.ops.celery_proj.boom {failing.id}: celery task line before failing" in output
    assert f"tests.ops.celery_proj.boom[{failing.id}] raised CeleryOpsError: celery boom" in output


def test_celery_after_setup_signals_are_sent(runtime, run_burst):
    output = run_burst("-A", "tests.ops.celery_proj", "ops-celery", "-l", "WARNING",
                       env={"OPS_LOG_SIGNALS": "after"})
    assert f"after_setup_logger: root=True level={logging.WARNING}" in output
    assert "after_setup_task_logger: mrqc.job" in output


def test_celery_setup_logging_receiver_takes_over(runtime, run_burst):
    from tests.ops import celery_proj
    celery_proj.boom.delay(password="x")
    output = run_burst("-A", "tests.ops.celery_proj", "ops-celery", env={"OPS_LOG_SIGNALS": "own"})
    assert "OWN ERROR Task tests.ops.celery_proj.boom[" in output, output
    assert "[ERROR]" not in output  # mrqc's own handler was not installed
