"""Celery's task states, and how MRQ's job statuses read as them.

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

#: MRQ status -> Celery state
STATUS_TO_STATE: dict[str, str] = {
    "queued": PENDING,
    "started": STARTED,
    "retry": RETRY,
    "success": SUCCESS,
    "failed": FAILURE,
    "timeout": FAILURE,
    "maxretries": FAILURE,
    "interrupt": FAILURE,
    "cancel": REVOKED,
    "abort": REVOKED,
}

PRECEDENCE = ["SUCCESS", "FAILURE", None, "REVOKED", "STARTED", "RECEIVED", "REJECTED", "RETRY", "PENDING"]


def state_for_status(status: str | None) -> str:
    """The Celery state of an MRQ status (``None``: no record -> ``PENDING``)."""
    if status is None:
        return PENDING
    return STATUS_TO_STATE.get(status, PENDING)


__all__ = ["PENDING", "RECEIVED", "STARTED", "SUCCESS", "FAILURE", "REVOKED", "REJECTED", "RETRY",
           "IGNORED", "UNKNOWN", "READY_STATES", "UNREADY_STATES", "EXCEPTION_STATES",
           "PROPAGATE_STATES", "ALL_STATES", "STATUS_TO_STATE", "state_for_status"]
