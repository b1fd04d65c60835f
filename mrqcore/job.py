"""Jobs: one execution of a task, with params, on a queue.

The Job API::

    job_id = queue_job("myapp.tasks.Fetch", {"url": "..."})        # -> id
    ids = queue_jobs("myapp.tasks.Fetch", [{"url": u} for u in urls])  # one round trip per batch
    get_job_result(job_id)                      # -> {"status": ..., "result": ...}
    Job(job_id).wait(timeout=10)                # -> the result, or JobFailedError

A job record holds the fields in ``FIELDS``; statuses are in ``STATUSES``.
Params are validated and encoded *before* anything is written: bad params queue
nothing (``SerializationError`` names the bad value).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import serialization
from .exceptions import (JobFailedError, JobNotFoundError, SerializationError,
                         WaitTimeoutError)
from .runtime import Runtime, get_runtime
from .status import JobStatus
from .store.base import PRIORITY_FIELD, JobSpec

#: every status a job can be in; exactly one at a time (plain strings; ``JobStatus`` is the enum)
STATUSES = tuple(status.value for status in JobStatus)

#: statuses after which the job will not run again on its own (``JobStatus.FINAL`` as plain strings)
FINAL_STATUSES = frozenset(status.value for status in JobStatus.FINAL)

#: the job record's fields (all stored as strings; JSON for the structured ones)
FIELDS = ("path", "params", "queue", "status", "datequeued", "datestarted", "dateupdated",
          "datedone", "result", "traceback", "exceptiontype", "traceback_history",
          "retry_count", "worker", "progress", "requeue_history")

_JSON_FIELDS = ("params", "result", "traceback_history", "requeue_history", "meta")
_DATE_FIELDS = ("datequeued", "datestarted", "dateupdated", "datedone", "cancel_requested")


def new_job_id() -> str:
    """A fresh job id (a UUID4 string, the form Celery clients expect)."""
    return str(uuid.uuid4())


def ttl_for_status(settings: Mapping[str, Any], status: str) -> int:
    """Seconds a finished record is kept, by status (MRQ's rule); 0 keeps it."""
    if status == JobStatus.SUCCESS:
        return int(settings["result_ttl"])
    if status == JobStatus.CANCEL:
        return int(settings["cancel_ttl"])
    if status == JobStatus.ABORT:
        return int(settings["abort_ttl"])
    return int(settings["default_ttl"])


# --- queueing ----------------------------------------------------------------------


def queue_job(main_task_path: str, params: Mapping[str, Any] | None = None, queue: str | None = None,
              *, job_id: str | None = None, delay: float | None = None,
              extra: Mapping[str, Any] | None = None, priority: int = 0, runtime: Runtime | None = None) -> str:
    """Queue one job and return its id.

    ``queue`` defaults to the task's configured queue, else ``default_queue``.
    ``delay`` (seconds) parks the job in the scheduled set until then.
    ``job_id`` lets the caller choose the id; while a record with that id
    exists (any status, until its TTL), nothing is queued: re-sending never
    runs a job twice (use ``Job.requeue`` to run a finished job again). ``extra`` adds
    JSON-serializable fields to the record (stored under ``meta``). ``priority`` (a step,
    0..255) > 0 puts the job on that step's list of its queue, served after the queue's own
    list, lower steps first (``mrqcore.store.base.PRIORITY_FIELD``).
    """
    return _queue(main_task_path, [params if params is not None else {}], queue, 1,
                  [job_id] if job_id else None, delay, extra, runtime, priority)[0]


def queue_jobs(main_task_path: str, params_list: Iterable[Mapping[str, Any]], queue: str | None = None,
               batch_size: int = 1000, *, runtime: Runtime | None = None) -> list[str]:
    """Queue one job per params dict; returns their ids in order.

    Every params dict is validated before the first batch is written. Each
    batch of ``batch_size`` is one atomic round trip.
    """
    return _queue(main_task_path, list(params_list), queue, batch_size, None, None, None, runtime)


def queue_raw_jobs(queue: str, params_list: Iterable[Any], batch_size: int = 1000,
                   *, runtime: Runtime | None = None) -> None:
    """Queue raw parameters on a raw queue (see ``mrqcore.raw``)."""
    from .raw import queue_raw_jobs as _queue_raw
    _queue_raw(queue, params_list, batch_size=batch_size, runtime=runtime)


@dataclass(frozen=True)
class JobRequest:
    """One job for ``queue_requests``: what ``queue_job`` takes, as a value."""

    path: str
    params: Mapping[str, Any]
    queue: str | None = None
    job_id: str | None = None
    delay: float | None = None
    extra: Mapping[str, Any] | None = None
    priority: int = 0


def queue_requests(requests: Sequence[JobRequest], *, runtime: Runtime | None = None) -> list[str]:
    """Queue jobs that may differ in task, queue, id, delay and extra, in one atomic store call.

    Each request means what ``queue_job`` means with the same arguments (a
    chosen ``job_id`` whose live job exists is not queued twice). Every
    request is validated before anything is written. Returns the ids in order.
    """
    runtime = runtime or get_runtime()
    now = time.time()
    specs = []
    for index, request in enumerate(requests):
        if not isinstance(request.path, str) or not request.path:
            raise SerializationError("task path", "path", request.path, "a task path must be a non-empty str")
        if not isinstance(request.params, Mapping):
            raise SerializationError(f"requests[{index}].params", "params", request.params, "params must be a dict")
        fields = {"path": request.path, "retry_count": "0",
                  "params": serialization.dumps_checked(dict(request.params), f"requests[{index}].params").decode()}
        if request.extra:
            fields["meta"] = serialization.dumps_checked(dict(request.extra), f"requests[{index}].extra").decode()
        _set_priority(fields, request.priority, f"requests[{index}].priority")
        due = now + request.delay if request.delay and request.delay > 0 else 0.0
        specs.append(JobSpec(request.job_id or new_job_id(), request.queue or default_queue_for(runtime, request.path),
                             fields, due))
    if specs:
        runtime.store.enqueue(specs, now)
        runtime.middleware.emit_after("after_enqueue", specs)
        runtime.metric("queue_jobs", len(specs), queue=specs[0].queue, path=specs[0].fields["path"])
    return [spec.id for spec in specs]


def default_queue_for(runtime: Runtime, path: str) -> str:
    return runtime.tasks.settings(path).get("queue") or runtime.config.default_queue


def _queue(path: str, params_list: Sequence[Any], queue: str | None, batch_size: int,
           ids: Sequence[str] | None, delay: float | None, extra: Mapping[str, Any] | None,
           runtime: Runtime | None, priority: int = 0) -> list[str]:
    if not isinstance(path, str) or not path:
        raise SerializationError("task path", "path", path, "a task path must be a non-empty str")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    runtime = runtime or get_runtime()
    queue = queue or default_queue_for(runtime, path)
    encoded = []
    for index, params in enumerate(params_list):
        label = "params" if len(params_list) == 1 else f"params_list[{index}]"
        if not isinstance(params, Mapping):
            raise SerializationError(label, label, params, "params must be a dict")
        encoded.append(serialization.dumps_checked(params, label).decode())
    meta = serialization.dumps_checked(dict(extra), "extra").decode() if extra else None
    now = time.time()
    due = now + delay if delay and delay > 0 else 0.0
    job_ids = list(ids) if ids else [new_job_id() for _ in encoded]
    specs = []
    for job_id, params_json in zip(job_ids, encoded):
        fields = {"path": path, "params": params_json, "retry_count": "0"}
        if meta is not None:
            fields["meta"] = meta
        _set_priority(fields, priority, "priority")
        specs.append(JobSpec(job_id, queue, fields, due))
    store = runtime.store
    for start in range(0, len(specs), batch_size):
        store.enqueue(specs[start:start + batch_size], now)
    runtime.middleware.emit_after("after_enqueue", specs)
    runtime.metric("queue_jobs", len(specs), queue=queue, path=path)
    return job_ids


def _set_priority(fields: dict[str, str], priority: int, label: str) -> None:
    """Record a priority step > 0 (0 leaves the record as it always was: the fast path)."""
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 255:
        raise ValueError(f"{label} must be a whole number from 0 to 255 (0: the queue's own list), "
                         f"got {priority!r}")
    if priority:
        fields[PRIORITY_FIELD] = str(priority)


def get_job_result(job_id: str, *, runtime: Runtime | None = None) -> dict[str, Any]:
    """``{"status": ..., "result": ...}`` of a job; JobNotFoundError if there is no record."""
    runtime = runtime or get_runtime()
    record = runtime.store.get(job_id, ("status", "result"))
    if not record:
        raise JobNotFoundError(f"no job with id {job_id!r} (never queued, or its record expired)")
    return {"status": record.get("status"), "result": serialization.loads(record.get("result"))}


# --- the Job object ----------------------------------------------------------------


def decode_record(record: Mapping[str, str], errors: list[str] | None = None,
                  extra_json: Sequence[str] = ()) -> dict[str, Any]:
    """The record with JSON, date and number fields turned into Python values.

    ``extra_json`` names more JSON fields (a layer's own, e.g. compat's
    ``exc_info``). A field that cannot be decoded raises, unless ``errors`` is
    given: then the field is left out (its default applies) and a description
    is appended.
    """
    out: dict[str, Any] = dict(record)
    conversions = _CONVERSIONS + [(name, serialization.loads) for name in extra_json] if extra_json else _CONVERSIONS
    for name, convert in conversions:
        if name not in out:
            continue
        try:
            out[name] = convert(out[name])
        except (ValueError, TypeError, OverflowError) as exc:
            if errors is None:
                raise
            errors.append(f"field {name!r} = {record[name]!r:.80}: {exc}")
            del out[name]
    return out


_decode = decode_record  # the old private name


def _date(value: str) -> datetime:
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


_CONVERSIONS = ([(name, serialization.loads) for name in _JSON_FIELDS]
                + [(name, _date) for name in _DATE_FIELDS]
                + [("retry_count", int), ("progress", float)])


class Job:
    """A handle on one job record. Cheap to build; ``fetch()`` reads the record.

    Attributes after ``fetch()``: every field of ``FIELDS`` present in the
    record, decoded (params/result as Python values, dates as aware datetimes).
    """

    def __init__(self, job_id: str, runtime: Runtime | None = None) -> None:
        self.id = job_id
        self.runtime = runtime or get_runtime()
        self.data: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.data.get('status', '?')}>"

    def __getattr__(self, name: str) -> Any:
        if name in FIELDS or name in ("meta", "cancel_requested"):
            return self.__dict__.get("data", {}).get(name)
        raise AttributeError(name)

    @property
    def store(self) -> Any:
        return self.runtime.store

    def fetch(self, fields: Sequence[str] | None = None) -> "Job":
        """Read the record (or some fields); JobNotFoundError if it does not exist."""
        record = self.store.get(self.id, fields)
        if record is None:
            raise JobNotFoundError(f"no job with id {self.id!r} (never queued, or its record expired)")
        self.data.update(decode_record(record))
        return self

    @property
    def exists(self) -> bool:
        return self.store.get(self.id, ("status",)) is not None

    def wait(self, timeout: float | None = None, poll_interval: float = 1.0,
             raise_on_failure: bool = True, *, missing_ok: bool = False,
             on_poll: Callable[[], Any] | None = None) -> Any:
        """Block until the job reaches a final status; return its result.

        Raises WaitTimeoutError after ``timeout`` seconds (the job is left
        alone), and JobFailedError if it ended in any status but success
        (unless ``raise_on_failure`` is False, in which case the record's
        ``result`` is returned and ``status`` tells how it ended).
        JobNotFoundError if there is no record, unless ``missing_ok``: then a
        missing record is waited for like a queued job. ``on_poll`` is called
        each time the job is seen unfinished, before waiting again.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.store.done_waiter(self.id) as waiter:
            notice = None
            while True:
                if notice and notice.startswith("success\n"):
                    # The worker sent the (small) result with the notification.
                    self.data.update(status=JobStatus.SUCCESS.value, result=serialization.loads(notice[8:]))
                else:
                    try:
                        self.fetch(("status", "result", "exceptiontype", "traceback"))
                    except JobNotFoundError:
                        if not missing_ok:
                            raise
                status = self.data.get("status")
                if status in JobStatus.FINAL:
                    break
                if on_poll is not None:
                    on_poll()
                remaining = poll_interval if deadline is None else min(poll_interval, deadline - time.monotonic())
                if remaining <= 0:
                    raise WaitTimeoutError(f"job {self.id} still {status!r} after {timeout}s")
                notice = getattr(waiter, "message", None) if waiter.wait(remaining) else None
        if status != JobStatus.SUCCESS and raise_on_failure:
            raise JobFailedError(self.id, status, self.data.get("exceptiontype"), self.data.get("traceback"))
        return self.data.get("result")

    def cancel(self) -> str | None:
        """Cancel the job: a queued or waiting job never runs; a started one is not interrupted.

        Returns the status before cancelling (None: no such job).
        """
        ttl = int(self.runtime.tasks.settings(self._path())["cancel_ttl"])
        return self.store.cancel(self.id, time.time(), ttl)

    def requeue(self, queue: str | None = None, force: bool = False, note: str = "requeued") -> str | None:
        """Queue the job again (any status but queued; ``started`` only with ``force``)."""
        return self.store.requeue(self.id, time.time(), queue=queue, force=force, note=note)

    def set_progress(self, ratio: float) -> None:
        """Record progress, a float between 0 and 1."""
        ratio = float(ratio)
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"progress must be between 0 and 1, got {ratio}")
        self.store.update(self.id, {"progress": repr(ratio), "dateupdated": repr(time.time())})
        self.data["progress"] = ratio

    @property
    def log_lines(self) -> list[str]:
        return self.store.log_lines(self.id)

    def to_dict(self) -> dict[str, Any]:
        if not self.data:
            self.fetch()
        return {"id": self.id, **self.data}

    def _path(self) -> str:
        if "path" not in self.data:
            try:
                self.fetch(("path",))
            except JobNotFoundError:
                return ""
        return self.data.get("path", "")
