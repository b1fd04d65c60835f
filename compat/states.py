"""Celery's task states, and how MRQ's job statuses read as them.

One table, ``STATUS_READINGS``, holds this translation; everything in mrqc reads it.

| MRQ status (``job.status``) | Celery state | ``get()`` raises |
|---|---|---|
| (no record) | ``PENDING`` (``UNKNOWN`` with ``AsyncResult(..., strict=True)``) | waits / ``TimeoutError`` |
| ``queued`` | ``PENDING`` | waits |
| ``started`` | ``STARTED`` (or the custom state set by ``update_state``) | waits |
| ``retry`` | ``RETRY`` | waits |
| ``success`` | ``SUCCESS`` | returns the result |
| ``failed`` | ``FAILURE`` | the task's own exception type |
| ``timeout`` | ``FAILURE`` | ``TimeLimitExceeded`` |
| ``maxretries`` | ``FAILURE`` | ``MaxRetriesExceededError`` |
| ``interrupt`` | ``FAILURE`` | ``WorkerLostError`` |
| ``cancel`` | ``REVOKED`` | ``TaskRevokedError`` |
| ``abort`` | ``REVOKED`` (or the state stored by ``update_state`` before ``Ignore``) | ``TaskRevokedError`` |

``abort`` (the task stopped itself on purpose: MRQ's ``abort_current_job``,
Celery's ``Ignore`` / ``Reject(requeue=False)``) reads as ``REVOKED``: it will
not run again and it is not a bug in the code, which is what ``REVOKED`` means
to Celery clients. ``interrupt`` reads as ``FAILURE`` with ``WorkerLostError``,
Celery's own name for "the worker died under the task".
"""
from __future__ import annotations

from typing import NamedTuple

from mrqcore.status import JobStatus

from .exceptions import MaxRetriesExceededError, TaskRevokedError, TimeLimitExceeded, WorkerLostError

PENDING = "PENDING"
RECEIVED = "RECEIVED"
STARTED = "STARTED"
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
REVOKED = "REVOKED"
REJECTED = "REJECTED"
RETRY = "RETRY"
IGNORED = "IGNORED"
#: mrqc only: no record exists under this id (never sent, forgotten, or expired)
UNKNOWN = "UNKNOWN"

READY_STATES = frozenset({SUCCESS, FAILURE, REVOKED})
UNREADY_STATES = frozenset({PENDING, RECEIVED, STARTED, REJECTED, RETRY})
EXCEPTION_STATES = frozenset({RETRY, FAILURE, REVOKED})
PROPAGATE_STATES = frozenset({FAILURE, REVOKED})
ALL_STATES = frozenset({PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED})


class StatusReading(NamedTuple):
    """How one MRQ status reads in Celery's terms (a row of ``STATUS_READINGS``)."""

    #: the Celery state
    state: str
    #: the exception ``get()`` raises for it; None: the task's own exception, as stored (or none)
    exception: type[BaseException] | None = None
    #: an exception the worker stored for the job (``exc_info``) wins over ``exception``
    #: (``mrqc.trace`` stores, e.g., ``TimeLimitExceeded`` with the limit that was passed)
    stored_wins: bool = False


#: The one translation of MRQ statuses into Celery states and exceptions (the table above).
#: ``AsyncResult`` reads records through it and ``mrqc.trace`` reports interrupts through it.
STATUS_READINGS: dict[JobStatus, StatusReading] = {
    JobStatus.QUEUED: StatusReading(PENDING),
    JobStatus.STARTED: StatusReading(STARTED),
    JobStatus.RETRY: StatusReading(RETRY),
    JobStatus.SUCCESS: StatusReading(SUCCESS),
    JobStatus.FAILED: StatusReading(FAILURE),
    JobStatus.TIMEOUT: StatusReading(FAILURE, TimeLimitExceeded, stored_wins=True),
    JobStatus.MAXRETRIES: StatusReading(FAILURE, MaxRetriesExceededError),
    JobStatus.INTERRUPT: StatusReading(FAILURE, WorkerLostError, stored_wins=True),
    JobStatus.CANCEL: StatusReading(REVOKED, TaskRevokedError),
    JobStatus.ABORT: StatusReading(REVOKED, TaskRevokedError),
}

#: MRQ status -> Celery state (plain strings; derived from ``STATUS_READINGS``)
STATUS_TO_STATE: dict[str, str] = {status.value: reading.state for status, reading in STATUS_READINGS.items()}

#: how a status unknown to this table (or no record) reads: waiting
_WAITING = StatusReading(PENDING)

PRECEDENCE = ["SUCCESS", "FAILURE", None, "REVOKED", "STARTED", "RECEIVED", "REJECTED", "RETRY", "PENDING"]


def reading_for_status(status: str | None) -> StatusReading:
    """The row of ``STATUS_READINGS`` for an MRQ status (``None`` or unknown: ``PENDING``)."""
    if status is None:
        return _WAITING
    try:
        return STATUS_READINGS[JobStatus(status)]
    except ValueError:
        return _WAITING


def state_for_status(status: str | None) -> str:
    """The Celery state of an MRQ status (``None``: no record -> ``PENDING``)."""
    return reading_for_status(status).state


__all__ = ["PENDING", "RECEIVED", "STARTED", "SUCCESS", "FAILURE", "REVOKED", "REJECTED", "RETRY",
           "IGNORED", "UNKNOWN", "READY_STATES", "UNREADY_STATES", "EXCEPTION_STATES",
           "PROPAGATE_STATES", "ALL_STATES", "STATUS_TO_STATE", "STATUS_READINGS", "StatusReading",
           "state_for_status", "reading_for_status"]
