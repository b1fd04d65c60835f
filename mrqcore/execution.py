"""Running one job: from a dequeued record to a ``Finish`` describing how it ended.

This is where the statuses are decided:

| what happened in ``run`` | status | record |
|---|---|---|
| returned a JSON-serializable value | success | result |
| returned something unserializable | failed | exceptiontype SerializationError |
| raised an Exception | failed | traceback, exceptiontype |
| ``retry_current_job()`` under max_retries | retry | retry_count + 1, parked until the delay passes |
| ``retry_current_job()`` at max_retries | maxretries | |
| ``DelayInterrupt(delay)`` (rate limit, requeue) | queued | parked until the delay passes, retry_count unchanged |
| ``abort_current_job()`` | abort | |
| ran past its timeout | timeout | traceback of where it was |
| worker shut down (SIGTERM, 2x SIGINT) | interrupt | traceback of where it was |
| task path unknown / not a Task | failed | exceptiontype TaskNotFoundError / NotATaskError |
| record unreadable (bad JSON, bad number) | failed | exceptiontype MalformedJobError, naming the field |

Every status but success and retry also appends to ``traceback_history``.
Fields a layer above adds to ``job.finish_fields`` while the job runs (compat's
``exc_info``, ``children``) are written in the same atomic finish as the status.
"""
from __future__ import annotations

import contextlib
import time
import traceback
from typing import TYPE_CHECKING, Any

import gevent

from . import serialization
from .context import reset_current_job, set_current_job
from .exceptions import (AbortInterrupt, DelayInterrupt, JobInterrupt, JobTimeoutInterrupt, MalformedJobError,
                         RetryInterrupt, WorkerInterrupt)
from .job import Job, decode_record, ttl_for_status
from .status import JobStatus
from .store.base import Finish

if TYPE_CHECKING:
    from .runtime import Runtime
    from .worker import Worker


class RunningJob(Job):
    """The job a worker is running: the record it dequeued plus the run's state."""

    def __init__(self, job_id: str, record: dict[str, str], runtime: "Runtime", worker: "Worker | None") -> None:
        super().__init__(job_id, runtime)
        self.record = record
        errors: list[str] = []
        self.data = decode_record(record, errors)
        #: set when the record could not be read: perform() fails the job with it
        self.malformed = MalformedJobError(f"job {job_id}: record cannot be read: {'; '.join(errors)}") \
            if errors else None
        #: set by a worker interrupted before this job started: it ends as interrupt without running
        self.interrupt_before_start: BaseException | None = None
        self.worker = worker
        self.task_path = record.get("path", "")
        self.task: Any = None
        self.settings: dict[str, Any] = runtime.tasks.settings(self.task_path)
        self.log_buffer: list[str] = []
        #: extra record fields (set while it runs, or in after_perform) written in the same atomic
        #: finish as the status; the core fields of the finish win over them
        self.finish_fields: dict[str, str] = {}
        self.max_log_lines = runtime.config.log_lines_max
        #: set by ``perform`` before ``after_perform``: the Finish it will return, and the run time in seconds
        self.outcome: Finish | None = None
        self.duration: float = 0.0

    @property
    def params(self) -> dict[str, Any]:
        return self.data.get("params") or {}

    @property
    def retry_count(self) -> int:
        return int(self.data.get("retry_count") or 0)

    def add_log_line(self, line: str) -> None:
        if len(self.log_buffer) < self.max_log_lines:
            self.log_buffer.append(serialization.safe_text(line))


def perform(job: RunningJob) -> Finish:
    """Run the job's task in the current greenlet and say how it ended. Never raises.

    ``WorkerInterrupt`` delivered into the greenlet while it runs becomes status
    ``interrupt``; the caller decides when to deliver it.
    """
    started = time.perf_counter()
    token = set_current_job(job)
    exc: BaseException | None = None
    result: Any = None
    try:
        try:
            if job.interrupt_before_start is not None:
                raise job.interrupt_before_start
            if job.malformed is not None:
                raise job.malformed
            task_class = job.runtime.tasks.load(job.task_path)
            job.settings = job.runtime.tasks.settings(job.task_path, task_class)
            task = task_class()
            task.is_main_task = True
            job.task = task
            job.runtime.middleware.emit_before("before_perform", job, propagate=True)
            timeout = float(job.settings.get("timeout") or 0)
            guard = gevent.Timeout(timeout, JobTimeoutInterrupt) if timeout > 0 else contextlib.nullcontext()
            with guard:
                result = task.run(job.params)
            result_json = serialization.dumps_checked(result, "result").decode()
            fin = _finish(job, JobStatus.SUCCESS, {"result": result_json, "progress": "1.0"})
        except RetryInterrupt as interrupt:
            exc = interrupt
            fin = _retry(job, interrupt)
        except (AbortInterrupt, JobTimeoutInterrupt, WorkerInterrupt) as interrupt:
            exc = interrupt
            fin = _failure(job, interrupt.status, interrupt)
        except DelayInterrupt as interrupt:
            exc = interrupt
            fin = _delay(job, interrupt)
        except JobInterrupt as interrupt:
            exc = interrupt
            fin = _failure(job, interrupt.status, interrupt)
        except gevent.GreenletExit as interrupt:
            # Killed without a reason (pool shutdown): the worker is going away.
            exc = interrupt
            fin = _failure(job, JobStatus.INTERRUPT, interrupt)
        except Exception as error:
            exc = error
            fin = _failure(job, JobStatus.FAILED, error)
    finally:
        reset_current_job(token)
    job.outcome, job.duration = fin, time.perf_counter() - started  # for after_perform (logs, metrics)
    job.runtime.middleware.emit_after("after_perform", job, fin.status, result if exc is None else None, exc)
    fin.log_lines = job.log_buffer
    if job.finish_fields:
        fin.fields = {**job.finish_fields, **fin.fields}
    # Last guard for any other text (a retry queue name...): one unencodable string must not stop the writer.
    fin.fields = {k: serialization.safe_text(v) if isinstance(v, str) else v for k, v in fin.fields.items()}
    return fin


def _finish(job: RunningJob, status: str, fields: dict[str, str], final: bool = True) -> Finish:
    status = str(status)  # records keep the plain string (str(JobStatus.X) is its value)
    now = repr(time.time())
    fields.update({"status": status, "dateupdated": now})
    if final:
        fields["datedone"] = now
    ttl = ttl_for_status(job.settings, status) if final else 0
    return Finish(job.id, status, fields, ttl)


def _exception_name(exc: BaseException) -> str:
    cls = type(exc)
    name = cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"
    return serialization.safe_text(name)


def _history(job: RunningJob, status: str, exc: BaseException | None, tb: str) -> str:
    history = list(job.data.get("traceback_history") or [])
    history.append({"date": time.time(), "status": status, "worker": job.worker.id if job.worker else None,
                    "exceptiontype": _exception_name(exc) if exc else None, "traceback": tb})
    return serialization.dumps(history, "traceback_history").decode()


def _failure(job: RunningJob, status: str, exc: BaseException) -> Finish:
    tb = serialization.safe_text(traceback.format_exc())
    fields = {"traceback": tb, "exceptiontype": _exception_name(exc),
              "traceback_history": _history(job, status, exc, tb)}
    return _finish(job, status, fields)


def _retry(job: RunningJob, interrupt: RetryInterrupt) -> Finish:
    max_retries = interrupt.max_retries if interrupt.max_retries is not None else job.settings["max_retries"]
    cause = interrupt.exc or interrupt
    tb = serialization.safe_text(traceback.format_exc())
    if job.retry_count >= int(max_retries):
        fields = {"traceback": tb, "exceptiontype": _exception_name(cause),
                  "traceback_history": _history(job, JobStatus.MAXRETRIES, cause, tb)}
        return _finish(job, JobStatus.MAXRETRIES, fields)
    delay = interrupt.delay if interrupt.delay is not None else job.settings["retry_delay"]
    fields = {"retry_count": str(job.retry_count + 1), "traceback": tb,
              "exceptiontype": _exception_name(cause),
              "traceback_history": _history(job, JobStatus.RETRY, cause, tb)}
    if interrupt.queue:
        fields["queue"] = interrupt.queue
    fin = _finish(job, JobStatus.RETRY, fields, final=False)
    fin.due = time.time() + max(float(delay), 0.0)
    return fin


def _delay(job: RunningJob, interrupt: DelayInterrupt) -> Finish:
    """Back to waiting (status queued, in the scheduled set), retry_count unchanged."""
    fields: dict[str, str] = {}
    if interrupt.queue:
        fields["queue"] = interrupt.queue
    fin = _finish(job, JobStatus.QUEUED, fields, final=False)
    fin.due = time.time() + max(float(interrupt.delay), 0.0)
    return fin
