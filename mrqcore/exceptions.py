"""Every exception mrqcore raises.

Two families, on purpose:

* ``MrqcError`` (an ``Exception``) is the root of every *error*: bad
  configuration, an unknown task, params that cannot be serialized, a missing
  job. Catch ``MrqcError`` to catch them all.
* ``JobInterrupt`` (a ``BaseException``) is the root of *control flow* that
  stops a running job: retry, abort, timeout, worker shutdown. They derive from
  ``BaseException`` so that a task's own ``except Exception:`` cannot swallow
  them, as in MRQ (``_MrqInterrupt``) and Python's own ``KeyboardInterrupt``.

``MRQC_EXCEPTIONS`` names both roots for code that wants to catch everything
mrqcore raises.
"""
from __future__ import annotations

from typing import Any

from .status import JobStatus


class MrqcError(Exception):
    """Root of every error raised by mrqcore and the packages built on it."""


class ConfigError(MrqcError):
    """A configuration value is missing, of the wrong type or out of range.

    The message always names the setting.
    """

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(f"invalid setting {setting!r}: {message}")


class TaskError(MrqcError):
    """Root of errors about locating a task."""


class TaskNotFoundError(TaskError):
    """No task is registered or importable under this path."""


class NotATaskError(TaskError):
    """The path names something that exists but is not a Task."""


class SerializationError(MrqcError):
    """A value (params or a result) cannot be stored.

    ``path`` says where inside the value the bad part is, e.g.
    ``params['user']['tags']``.
    """

    def __init__(self, what: str, path: str, value: Any, detail: str = "") -> None:
        self.path = path
        self.value = value
        kind = type(value).__name__
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"{what} cannot be serialized: {path} is a {kind}{extra}; "
            "only dict (str keys), list, tuple, str, int, float, bool and None are allowed"
        )


class JobNotFoundError(MrqcError):
    """No job record exists under this id (never queued, or expired)."""


class MalformedJobError(MrqcError):
    """A job record cannot be read (a field is not what mrqc writes). The job fails; nothing else does."""


class JobStateError(MrqcError):
    """The operation does not apply to the job in its current status."""


class JobFailedError(MrqcError):
    """Raised by ``Job.wait()`` when the job ended in a status other than success."""

    def __init__(self, job_id: str, status: str, exceptiontype: str | None, traceback: str | None) -> None:
        self.job_id = job_id
        self.status = status
        self.exceptiontype = exceptiontype
        self.traceback = traceback
        detail = f": {exceptiontype}" if exceptiontype else ""
        super().__init__(f"job {job_id} ended with status {status!r}{detail}")


class WaitTimeoutError(MrqcError):
    """``Job.wait()`` gave up before the job finished. The job itself is untouched."""


class StoreError(MrqcError):
    """The job store (Redis) answered something it should not have."""


# --- control flow --------------------------------------------------------


class JobInterrupt(BaseException):
    """Root of the interrupts that stop a running job. Not an ``Exception``."""

    status: JobStatus = JobStatus.INTERRUPT


class RetryInterrupt(JobInterrupt):
    """Raised by ``retry_current_job()``: mark the job for a later retry."""

    status = JobStatus.RETRY

    def __init__(self, delay: float | None = None, max_retries: int | None = None,
                 queue: str | None = None, exc: BaseException | None = None) -> None:
        self.delay = delay
        self.max_retries = max_retries
        self.queue = queue
        self.exc = exc
        super().__init__(f"retry requested (delay={delay}, max_retries={max_retries}, queue={queue})")


class MaxRetriesInterrupt(JobInterrupt):
    """The job asked for a retry but has been retried ``max_retries`` times already."""

    status = JobStatus.MAXRETRIES


class AbortInterrupt(JobInterrupt):
    """Raised by ``abort_current_job()``: stop now, status ``abort``, no retry."""

    status = JobStatus.ABORT


class JobTimeoutInterrupt(JobInterrupt):
    """The job ran past its timeout; the worker killed it (status ``timeout``)."""

    status = JobStatus.TIMEOUT


class WorkerInterrupt(JobInterrupt):
    """The worker is shutting down (SIGTERM, or a second SIGINT) while the job ran."""

    status = JobStatus.INTERRUPT


class DelayInterrupt(JobInterrupt):
    """Put the running job back to wait ``delay`` seconds without counting a retry.

    The job ends this run with status ``queued`` and waits in the scheduled
    set (rate limits, Celery's ``Reject(requeue=True)``, ``acks_late`` after a
    worker shutdown). ``retry_count`` and ``max_retries`` are untouched.
    """

    status = JobStatus.QUEUED

    def __init__(self, delay: float = 0.0, queue: str | None = None, reason: str = "delayed") -> None:
        self.delay = delay
        self.queue = queue
        super().__init__(f"{reason} (delay={delay}, queue={queue})")


MRQC_EXCEPTIONS = (MrqcError, JobInterrupt)

__all__ = [
    "MrqcError", "ConfigError", "TaskError", "TaskNotFoundError", "NotATaskError",
    "SerializationError", "JobNotFoundError", "MalformedJobError", "JobStateError", "JobFailedError",
    "WaitTimeoutError", "StoreError", "JobInterrupt", "RetryInterrupt",
    "MaxRetriesInterrupt", "AbortInterrupt", "JobTimeoutInterrupt", "WorkerInterrupt", "DelayInterrupt",
    "MRQC_EXCEPTIONS",
]
