"""Celery's exception names, rooted in mrqcore's ``MrqcError``.

Import them from ``mrqc.exceptions`` exactly where Celery code imports them from
``celery.exceptions``. Every *error* here derives from ``MrqcError`` (so
``except MrqcError`` catches all of mrqc's errors) and from the same builtin
bases Celery uses (``NotRegistered`` is also a ``KeyError``, ``TimeoutError``
is Celery's own class, not the builtin).

``Retry``, ``Ignore`` and ``Reject`` are Celery's *task predicates*: ordinary
``Exception`` subclasses a task raises to tell the worker what to do, as in
Celery. ``SoftTimeLimitExceeded`` is an ``Exception`` too, so a task can catch
it and clean up; the hard limit cannot be caught (it is mrqcore's
``JobTimeoutInterrupt``) and reads back as ``TimeLimitExceeded``.
"""
from __future__ import annotations

import numbers
from typing import Any

from mrqcore.exceptions import JobInterrupt, MrqcError
from mrqcore.status import JobStatus


class CeleryError(MrqcError):
    """Root of the Celery-named errors (a subclass of ``MrqcError``)."""


class ImproperlyConfigured(CeleryError):
    """A Celery setting or option is unknown, unsupported or has a bad value.

    The message always names the setting or option.
    """


class UnsupportedOption(ImproperlyConfigured, TypeError):
    """A task or call option Celery knows but mrqc deliberately does not support."""


class TaskPredicate(CeleryError):
    """Base of the exceptions a task raises to steer the worker."""


class Retry(TaskPredicate):
    """The task is to be retried later (raised by ``Task.retry``)."""

    message: str | None = None
    exc: BaseException | None = None
    when: Any = None

    def __init__(self, message: str | None = None, exc: BaseException | None = None, when: Any = None,
                 is_eager: bool = False, sig: Any = None, **kwargs: Any) -> None:
        self.message = message
        self.exc = exc if isinstance(exc, BaseException) else None
        self.excs = repr(exc) if exc is not None else None
        self.when = when
        self.is_eager = is_eager
        self.sig = sig
        super().__init__(message, exc, when)

    def humanize(self) -> str:
        if isinstance(self.when, numbers.Number):
            return f"in {self.when}s"
        return f"at {self.when}"

    def __str__(self) -> str:
        if self.message:
            return self.message
        if self.excs:
            return f"Retry {self.humanize()}: {self.excs}"
        return f"Retry {self.humanize()}"


RetryTaskError = Retry


class Ignore(TaskPredicate):
    """The task asks to be stopped without a result (ends as REVOKED here; see docs)."""


class Reject(TaskPredicate):
    """The task rejects its message: ``requeue=True`` puts it back on its queue, else it ends (REVOKED)."""

    def __init__(self, reason: Any = None, requeue: bool = False) -> None:
        self.reason = reason
        self.requeue = requeue
        super().__init__(reason, requeue)

    def __repr__(self) -> str:
        return f"reject requeue={self.requeue}: {self.reason}"


class TaskError(CeleryError):
    """Root of task-related errors."""


class NotRegistered(KeyError, TaskError):
    """No task is registered under this name."""

    def __repr__(self) -> str:
        return f"NotRegistered({self.args[0] if self.args else ''!r})"

    def __str__(self) -> str:
        return f"task {self.args[0]!r} is not registered" if self.args else "task not registered"


class AlreadyRegistered(TaskError):
    """A task with this name is already registered."""


class QueueNotFound(KeyError, TaskError):
    """A queue is missing from the configured queues."""


class TimeoutError(TaskError):  # noqa: A001 - Celery's name
    """``AsyncResult.get(timeout=...)`` gave up waiting; the task itself is untouched."""


class MaxRetriesExceededError(TaskError):
    """The task called ``retry()`` more often than ``max_retries`` allows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.task_args = kwargs.pop("task_args", [])
        self.task_kwargs = kwargs.pop("task_kwargs", {})
        super().__init__(*args, **kwargs)


class TaskRevokedError(TaskError):
    """The task was revoked (cancelled, expired, terminated or rejected), so it has no result."""


class InvalidTaskError(TaskError):
    """A task message (job record) is malformed."""


class ChordError(TaskError):
    """A chord's header task failed, so its body will not run."""


class WorkerLostError(CeleryError):
    """The worker stopped (SIGTERM, or a second SIGINT) while the task ran (MRQ status ``interrupt``)."""


class SoftTimeLimitExceeded(CeleryError):
    """Raised *inside* the task when its soft time limit passes; the task may catch it to clean up.

    An ``Exception`` (through ``MrqcError``), as in Celery: ``except Exception`` catches it.
    """

    def __str__(self) -> str:
        return f"SoftTimeLimitExceeded{self.args!r}"


class TimeLimitExceeded(CeleryError):
    """The task ran past its hard time limit and was killed (MRQ status ``timeout``)."""

    def __str__(self) -> str:
        return f"TimeLimitExceeded{self.args!r}"


class Terminated(CeleryError):
    """The task was terminated by ``revoke(terminate=True)``."""


class RevokedInterrupt(JobInterrupt):
    """Stops a job that must not run (expired, revoked, rejected): ends with status ``cancel``.

    Raised from inside the generated mrqcore task; mrqcore records any
    ``JobInterrupt`` with its ``status``.
    """

    status = JobStatus.CANCEL


class IgnoreInterrupt(JobInterrupt):
    """``Ignore``/``Reject(requeue=False)`` raised by the task: ends with status ``abort``."""

    status = JobStatus.ABORT


class CeleryWarning(UserWarning):
    pass


class AlwaysEagerIgnored(CeleryWarning):
    pass


class DuplicateNodenameWarning(CeleryWarning):
    pass


class DuplicateTaskNameWarning(CeleryWarning):
    pass


class FixupWarning(CeleryWarning):
    pass


class NotConfigured(CeleryWarning):
    pass


class SecurityWarning(CeleryWarning):
    pass


class SecurityError(CeleryError):
    """Celery's message signing is not supported by mrqc; kept so imports work."""


class IncompleteStream(TaskError):
    pass


class BackendError(CeleryError):
    """An error reading or writing a result (here: the job record in Redis)."""


class BackendGetMetaError(BackendError):
    pass


class BackendStoreError(BackendError):
    pass


class WorkerTerminate(SystemExit):
    """Signals that the worker should terminate immediately."""


SystemTerminate = WorkerTerminate


class WorkerShutdown(SystemExit):
    """Signals that the worker should perform a warm shutdown."""


OperationalError = ConnectionError


class CeleryCommandException(CeleryError):
    """An error of a command-line command, with the exit code to use."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

UNREGISTERED_FMT = """Task of kind {0} never registered, please make sure it's imported."""


class CPendingDeprecationWarning(PendingDeprecationWarning):
    pass


class CDeprecationWarning(DeprecationWarning):
    pass


__all__ = [
    "CeleryError", "ImproperlyConfigured", "UnsupportedOption", "TaskPredicate", "Retry", "RetryTaskError",
    "Ignore", "Reject", "TaskError", "NotRegistered", "AlreadyRegistered", "QueueNotFound", "TimeoutError",
    "MaxRetriesExceededError", "TaskRevokedError", "InvalidTaskError", "ChordError", "WorkerLostError",
    "SoftTimeLimitExceeded", "TimeLimitExceeded", "Terminated", "RevokedInterrupt", "IgnoreInterrupt",
    "CeleryWarning", "AlwaysEagerIgnored", "DuplicateNodenameWarning", "DuplicateTaskNameWarning", "FixupWarning",
    "NotConfigured", "SecurityWarning", "SecurityError", "IncompleteStream", "BackendError", "BackendGetMetaError",
    "BackendStoreError", "WorkerTerminate", "SystemTerminate", "WorkerShutdown", "OperationalError",
    "UNREGISTERED_FMT", "CeleryCommandException", "CPendingDeprecationWarning", "CDeprecationWarning",
]
