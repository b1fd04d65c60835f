"""What the worker says about each job it runs: one log line per outcome, and the metric hook.

``JobOutcomes`` is a middleware every ``Worker`` puts on its runtime (once).
It is the one place job outcomes are logged, on the ``mrqc.worker.jobs``
logger (``OUTCOME_LOGGER``), the way Celery's worker logs them:

| job | level | line |
|---|---|---|
| starts running | DEBUG | ``Task <name>[<id>] received`` |
| success | INFO | ``Task <name>[<id>] succeeded in <s>s: <result>`` |
| retry | INFO | ``Task <name>[<id>] retry in <s>s: <reason>`` |
| failed, maxretries, timeout | ERROR, with the traceback | ``Task <name>[<id>] raised <exception>`` ... |
| interrupt, abort, cancel | WARNING | ``Task <name>[<id>] <status>: <reason>`` |
| queued again (rate limit, delay) | DEBUG | ``Task <name>[<id>] delayed <s>s: <reason>`` |

Each record carries, as ``extra`` fields: ``job_id``, ``task_name``,
``status``, ``queue``, ``runtime`` (seconds), ``retry_count``, ``worker``;
JSON log lines (``--log-format json``) include them all.

It also calls the ``metric_hook`` as ``hook("jobs.status.<status>", 1,
queue=None, path=<task path>, duration=<seconds>)`` for every job that ran.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .middleware import Middleware
from .status import JobStatus

if TYPE_CHECKING:
    from .execution import RunningJob

__all__ = ("OUTCOME_LOGGER", "JobOutcomes", "outcomes")

OUTCOME_LOGGER = "mrqc.worker.jobs"
logger = logging.getLogger(OUTCOME_LOGGER)

_ERROR = {JobStatus.FAILED, JobStatus.MAXRETRIES, JobStatus.TIMEOUT}
_WARNING = {JobStatus.INTERRUPT, JobStatus.ABORT, JobStatus.CANCEL}
_RESULT_REPR_MAX = 200


class JobOutcomes(Middleware):
    """Logs each job's outcome and reports it to the metric hook (see the module docstring)."""

    def before_perform(self, job: "RunningJob") -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("Task %s[%s] received", job.task_path, job.id, extra=_fields(job, JobStatus.STARTED))

    def after_perform(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        job.runtime.metric(f"jobs.status.{status}", queue=None, path=job.task_path, duration=job.duration)
        name, extra = job.task_path, _fields(job, status)
        if status == JobStatus.SUCCESS:
            if logger.isEnabledFor(logging.INFO):
                logger.info("Task %s[%s] succeeded in %.3fs: %s", name, job.id, job.duration,
                            _short(result), extra=extra)
        elif status == JobStatus.RETRY:
            logger.info("Task %s[%s] retry in %ss: %s", name, job.id, _delay(job),
                        _reason(error_of(status, exc)), extra=extra)
        elif status == JobStatus.QUEUED:
            logger.debug("Task %s[%s] delayed %ss: %s", name, job.id, _delay(job), _reason(exc), extra=extra)
        elif status in _ERROR:
            cause = error_of(status, exc)
            what = {JobStatus.FAILED: "raised", JobStatus.MAXRETRIES: "out of retries after",
                    JobStatus.TIMEOUT: "timed out:"}[JobStatus(status)]
            logger.error("Task %s[%s] %s %s", name, job.id, what, _describe(cause), extra=extra,
                         exc_info=(type(cause), cause, cause.__traceback__) if cause is not None else None)
        elif status in _WARNING:
            logger.warning("Task %s[%s] %s: %s", name, job.id, status, _reason(exc), extra=extra)


def error_of(status: str, exc: BaseException | None) -> BaseException | None:
    """The exception that made a job end ``status``: a retry's cause, an abort's context (None if the
    abort had no exception behind it), else ``exc``."""
    if exc is None:
        return None
    if status in (JobStatus.MAXRETRIES, JobStatus.RETRY):
        # Celery's retry(exc=...) names it; retry_current_job() inside an except block has a context.
        return getattr(exc, "exc", None) or exc.__cause__ or exc.__context__ or exc
    if status == JobStatus.ABORT:
        return exc.__cause__ or exc.__context__
    return exc


#: the instance every Worker registers on its runtime
outcomes = JobOutcomes()


def _fields(job: "RunningJob", status: str) -> dict[str, Any]:
    return {"job_id": job.id, "task_name": job.task_path, "status": str(status),
            "queue": job.data.get("queue"), "runtime": round(job.duration, 6), "retry_count": job.retry_count,
            "worker": job.worker.id if job.worker is not None else None}


def _delay(job: "RunningJob") -> float:
    import time
    due = job.outcome.due if job.outcome is not None else None
    return round(max(0.0, due - time.time()), 3) if due is not None else 0.0


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "(no exception)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "-"
    cause = getattr(exc, "exc", None)
    if isinstance(cause, BaseException):
        return _describe(cause)
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else _describe(exc)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _RESULT_REPR_MAX else text[:_RESULT_REPR_MAX] + "..."
