"""``JobStatus``: one vocabulary for the ten statuses, stored as the same plain strings as before."""
from __future__ import annotations

import pytest

from mrqcore.exceptions import (AbortInterrupt, DelayInterrupt, JobNotFoundError, JobTimeoutInterrupt,
                                RetryInterrupt, WaitTimeoutError, WorkerInterrupt)
from mrqcore.job import FINAL_STATUSES, STATUSES, Job, JobStatus, queue_job
from mrqcore.status import JobStatus as StatusFromItsModule


def test_old_names_derive_from_the_enum():
    assert JobStatus is StatusFromItsModule
    assert STATUSES == tuple(s.value for s in JobStatus)
    assert FINAL_STATUSES == frozenset(s.value for s in JobStatus.FINAL)
    assert all(type(s) is str for s in STATUSES) and all(type(s) is str for s in FINAL_STATUSES)
    assert set(JobStatus) - JobStatus.FINAL == {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.RETRY}


def test_members_are_their_strings():
    assert JobStatus.SUCCESS == "success" and "success" == JobStatus.SUCCESS
    assert str(JobStatus.MAXRETRIES) == "maxretries" and f"{JobStatus.CANCEL}" == "cancel"
    assert "timeout" in JobStatus.FINAL and JobStatus.TIMEOUT.is_final and not JobStatus.RETRY.is_final
    assert {"abort": 1}[JobStatus.ABORT] == 1


def test_parse_names_the_bad_value():
    assert JobStatus.parse("failed") is JobStatus.FAILED
    with pytest.raises(ValueError, match=r"unknown job status 'sucess'; valid: queued, started, success"):
        JobStatus.parse("sucess")


def test_interrupts_carry_their_status():
    assert AbortInterrupt.status is JobStatus.ABORT
    assert JobTimeoutInterrupt.status is JobStatus.TIMEOUT
    assert WorkerInterrupt.status is JobStatus.INTERRUPT
    assert RetryInterrupt.status is JobStatus.RETRY
    assert DelayInterrupt.status is JobStatus.QUEUED


def test_finish_and_record_hold_plain_strings(runtime):
    from mrqcore.execution import RunningJob, perform
    job = RunningJob("local-1", {"path": "tests.tasks.basic.Add", "params": '{"a": 1, "b": 2}',
                                 "queue": "", "status": "started", "retry_count": "0"}, runtime, None)
    fin = perform(job)
    assert type(fin.status) is str and type(fin.fields["status"]) is str and fin.status == "success"
    job_id = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 2})
    assert runtime.store.get(job_id, ("status",)) == {"status": "queued"}


def test_wait_for_a_missing_record(runtime):
    with pytest.raises(JobNotFoundError):
        Job("never-queued", runtime).wait(timeout=1)
    polls: list[int] = []
    with pytest.raises(WaitTimeoutError):
        Job("never-queued", runtime).wait(timeout=0.3, poll_interval=0.1, missing_ok=True,
                                          on_poll=lambda: polls.append(1))
    assert polls  # called each time the job was seen unfinished
