"""Results in Celery's result-backend format, both ways.

**Writing** (``CeleryResultWriter``, an ``after_perform`` middleware on a wire
worker's runtime): every Celery task the worker finishes is also stored as
Celery's ``RedisBackend`` stores it (``mrqc.adapters.transports.celery_redis``),
so a Celery client's ``AsyncResult.get()`` returns or raises:

| job status | Celery state | ``result`` |
|---|---|---|
| success | SUCCESS | the return value |
| failed, maxretries, timeout | FAILURE | ``{"exc_type", "exc_message", "exc_module"}`` |
| retry | RETRY | the exception that caused the retry |
| cancel | REVOKED | ``TaskRevokedError`` |
| abort, interrupt, delay | (nothing written: the job is not over, or set its own state) | |

A stored SUCCESS is never overwritten. ``date_done`` is ISO 8601 UTC,
``children`` are Celery result tuples, ``traceback`` the formatted traceback.

**Reading** (``WireResults``): ``mrqc.AsyncResult`` of an app with the wire
on reads Celery's key first (results of tasks that Celery workers ran), as
a record of mrqc's shape (status, result, exc_info, traceback, datedone,
children), and falls back to mrqc's own record (a queued or started job).
"""
from __future__ import annotations

import datetime
import logging
import time
import traceback as tb
from typing import TYPE_CHECKING, Any

from mrqcore import middleware, serialization
from mrqcore.status import JobStatus

from .transports.celery_redis import CeleryRedisBackend

if TYPE_CHECKING:
    from mrqc.app import Celery
    from mrqc.result import AsyncResult
    from mrqcore.execution import RunningJob

logger = logging.getLogger("mrqc.wire")

__all__ = ("CeleryResultWriter", "WireResults", "celery_meta", "backend_for", "DEFAULT_EXPIRES")

#: Celery's default ``result_expires`` (one day)
DEFAULT_EXPIRES = 86400

_STATES = {JobStatus.SUCCESS: "SUCCESS", JobStatus.FAILED: "FAILURE", JobStatus.MAXRETRIES: "FAILURE",
           JobStatus.TIMEOUT: "FAILURE", JobStatus.RETRY: "RETRY", JobStatus.CANCEL: "REVOKED"}
_STATUSES = {"SUCCESS": JobStatus.SUCCESS, "FAILURE": JobStatus.FAILED, "REVOKED": JobStatus.CANCEL,
             "RETRY": JobStatus.RETRY, "STARTED": JobStatus.STARTED, "RECEIVED": JobStatus.QUEUED}


def backend_for(app: "Celery") -> CeleryRedisBackend | None:
    """A client of the app's ``result_backend`` when it is a Redis, else None."""
    url = app.conf.result_backend
    if not isinstance(url, str) or url.split("://")[0] not in ("redis", "rediss", "unix"):
        return None
    options = app.conf.get("result_backend_transport_options") or {}
    return CeleryRedisBackend(url, str(options.get("global_keyprefix") or ""))


def encode_exception(exc: BaseException | None, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """Celery's JSON form of an exception (``BaseBackend.prepare_exception``).

    mrqc's own copies of Celery's exceptions (``mrqc.exceptions.ChordError``...)
    are written as Celery's (``celery.exceptions``), so Celery clients re-raise
    their own class; ``WireResults`` maps them back for mrqc clients."""
    if stored:
        encoded = {k: stored[k] for k in ("exc_type", "exc_message", "exc_module") if k in stored}
    else:
        if exc is None:
            exc = Exception("task failed")
        cls = type(exc)
        args = list(exc.args)
        try:
            serialization.dumps_checked(args, "exception args")
        except Exception:
            args = [str(a) for a in exc.args]
        encoded = {"exc_type": cls.__qualname__, "exc_message": args, "exc_module": cls.__module__}
    if encoded.get("exc_module") == "mrqc.exceptions" and encoded.get("exc_type") not in _MRQC_ONLY:
        encoded["exc_module"] = "celery.exceptions"
    return encoded


#: names of ``mrqc.exceptions`` that Celery's ``celery.exceptions`` does not have
_MRQC_ONLY = frozenset({"IgnoreInterrupt", "RevokedInterrupt", "UnsupportedOption"})


def _mrqc_module(module: Any, name: Any) -> Any:
    """``celery.exceptions`` -> ``mrqc.exceptions`` for the names mrqc re-exports (its clients catch those)."""
    if module == "celery.exceptions":
        import mrqc.exceptions
        if isinstance(getattr(mrqc.exceptions, str(name), None), type):
            return "mrqc.exceptions"
    return module


def celery_meta(task_id: str, state: str, result: Any, traceback: str | None = None,
                children: list[str] | None = None) -> dict[str, Any]:
    """One ``celery-task-meta-<id>`` value."""
    return {"status": state, "result": result, "traceback": traceback,
            "children": [[[child, None], None] for child in children or ()],
            "date_done": datetime.datetime.now(datetime.timezone.utc).isoformat(), "task_id": task_id}


class CeleryResultWriter(middleware.Middleware):
    """Writes each finished Celery task of ``app`` to Celery's result backend."""

    def __init__(self, app: "Celery") -> None:
        self.app = app
        self._backend: CeleryRedisBackend | None = None

    def backend(self) -> CeleryRedisBackend | None:
        if self._backend is None:
            self._backend = backend_for(self.app)
        return self._backend

    def after_perform(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        outcome = celery_outcome(self.app, job, status, result, exc)
        backend = self.backend()
        if outcome is None or backend is None:
            return
        state, value, trace = outcome
        meta = job.data.get("meta") if isinstance(job.data.get("meta"), dict) else {}
        if state == "SUCCESS" and (meta.get("ignore_result") or self.app.tasks[job.task_path].ignore_result):
            return
        children = _json(job.finish_fields.get("children")) or []
        expires = self.app.conf.seconds("result_expires") or DEFAULT_EXPIRES
        try:
            backend.store(job.id, celery_meta(job.id, state, value, trace, children), int(expires))
        except Exception as error:  # the job's own record is written anyway; say what Celery clients miss
            logger.error("celery wire: result of %s not written to the result backend: %s", job.id, error)


def celery_outcome(app: "Celery", job: "RunningJob", status: str, result: Any,
                   exc: BaseException | None) -> tuple[str, Any, str | None] | None:
    """``(state, result, traceback)`` as Celery's backend encodes a finished task of ``app``, or None
    (not a Celery task of the app, or not over: the table in the module docstring)."""
    state = _STATES.get(JobStatus(status)) if status in JobStatus._value2member_map_ else None
    if state is None or app.tasks.get(job.task_path) is None:
        return None
    stored = _json(job.finish_fields.get("exc_info"))
    if state == "SUCCESS":
        return state, result, None
    if state == "REVOKED":
        return state, {"exc_type": "TaskRevokedError", "exc_message": ["revoked"],
                       "exc_module": "celery.exceptions"}, None
    value = encode_exception(exc, stored)
    if status == JobStatus.TIMEOUT and not stored:
        value = {"exc_type": "TimeLimitExceeded", "exc_message": [str(exc or "")],
                 "exc_module": "billiard.exceptions"}
    trace = "".join(tb.format_exception(type(exc), exc, exc.__traceback__)) if exc is not None else None
    return state, value, trace


def _json(value: Any) -> Any:
    if isinstance(value, (bytes, str)):
        try:
            return serialization.loads(value)
        except Exception:
            return None
    return value


class WireResults:
    """Reads Celery-format results for ``mrqc.AsyncResult`` (the seam is ``mrqc.bridge.wire_results``)."""

    def __init__(self, backend: CeleryRedisBackend) -> None:
        self.backend = backend

    def record(self, task_id: str) -> dict[str, Any] | None:
        """A record of mrqc's decoded shape from Celery's stored meta, or None if there is none."""
        meta = self.backend.get(task_id)
        if not meta or meta.get("status") in (None, "PENDING"):
            return None
        state = meta["status"]
        status = _STATUSES.get(state, JobStatus.STARTED)
        record: dict[str, Any] = {"status": status.value, "celery_state": state, "traceback": meta.get("traceback")}
        result = meta.get("result")
        if state == "SUCCESS":
            record["result"] = result
        elif isinstance(result, dict) and result.get("exc_type"):
            message = result.get("exc_message")
            module = _mrqc_module(result.get("exc_module", "builtins"), result["exc_type"])
            record["exc_info"] = {"exc_type": result["exc_type"], "exc_module": module,
                                  "exc_message": message if isinstance(message, list) else [message]}
        else:
            record["celery_meta"] = result
        if meta.get("date_done"):
            try:
                record["datedone"] = datetime.datetime.fromisoformat(str(meta["date_done"]))
            except ValueError:
                pass
        record["children"] = [_child_id(child) for child in meta.get("children") or () if _child_id(child)]
        if meta.get("parent_id") or meta.get("root_id"):
            record["meta"] = {"parent_id": meta.get("parent_id"), "root_id": meta.get("root_id")}
        return record

    def wait(self, result: "AsyncResult", timeout: float | None, interval: float,
             on_interval: Any = None) -> dict[str, Any]:
        """The final record of ``result``: Celery's key, or mrqc's own record once final."""
        from mrqc.exceptions import TimeoutError
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.02
        while True:
            record = self.record(result.id)
            if record is not None and record["status"] in JobStatus.FINAL:
                return record
            own = result.app.runtime.store.get(result.id, ("status",))
            if own and own.get("status") in JobStatus.FINAL:  # run by an mrqc worker: its own record says it all
                return _own_record(result)
            if on_interval is not None:
                on_interval()
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("The operation timed out.")
            time.sleep(pause)
            pause = min(pause * 2, max(0.05, min(interval, 0.5)))


def _own_record(result: "AsyncResult") -> dict[str, Any]:
    from mrqc.result import RECORD_JSON_FIELDS
    from mrqcore.job import decode_record
    raw = result.app.runtime.store.get(result.id) or {}
    return decode_record(raw, errors=[], extra_json=RECORD_JSON_FIELDS)


def _child_id(child: Any) -> str | None:
    # Celery's result tuple: ((id, parent), children)
    try:
        return str(child[0][0])
    except (TypeError, IndexError, KeyError):
        return None
