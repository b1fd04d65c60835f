"""Results: ``AsyncResult``, ``GroupResult``, ``EagerResult``, read from mrqcore job records.

The state of a result is its job's MRQ status read as a Celery state (table
in ``mrqc.states``). Differences from Celery, on purpose:

* ``AsyncResult.exists`` tells an id with no record (never sent, forgotten,
  expired) from a job that is waiting (``PENDING`` for both in Celery). With
  ``strict=True`` (or the app setting ``mrqc_strict_results``) ``state`` is
  ``"UNKNOWN"`` for such ids and ``get()`` raises ``KeyError`` at once
  instead of waiting forever.
* ``STARTED`` is always reported (no ``task_track_started`` needed).
* ``parent`` and ``children`` work from any process: they are stored in the
  record, not only kept in the object that ``apply_async`` returned.
* ``get()`` re-raises the task's own exception type (stored as module, class
  and args); if the class cannot be imported here, an exception class of the
  same name is made.

Waiting is mrqcore's ``Job.wait`` (woken by the job's done notification, which
carries a small success result itself), and records are decoded by mrqcore's
``decode_record``; the status -> state/exception translation is
``mrqc.states.STATUS_READINGS``.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

from mrqcore import serialization
from mrqcore.exceptions import JobNotFoundError, WaitTimeoutError
from mrqcore.job import Job, decode_record
from mrqcore.status import JobStatus

from . import _state, states
from .exceptions import TimeoutError
from .utils import rebuild_exception

if TYPE_CHECKING:
    from .app import Celery

#: compat's own JSON fields in a job record (mrqcore decodes its own: params, result, meta, ...)
RECORD_JSON_FIELDS = ("exc_info", "parent_exc_info", "celery_meta", "children")

#: the message of the exception ``get()`` raises for a status whose table row names one
_MESSAGES = {
    JobStatus.TIMEOUT: "job {id} ran past its time limit",
    JobStatus.MAXRETRIES: "job {id} was retried too many times",
    JobStatus.INTERRUPT: "worker stopped while running job {id}",
    JobStatus.CANCEL: "revoked",
}


def _check_not_in_task() -> None:
    task = _state.get_current_task()
    if task is not None and not task.request.called_directly and not task.request.is_eager:
        raise RuntimeError("Never call result.get() within a task!\n"
                           "See https://docs.celeryq.dev/en/latest/userguide/tasks.html"
                           "#avoid-launching-synchronous-subtasks")


def store_custom_state(app: "Celery", task_id: str, state: str | None, meta: Any) -> None:
    """``Task.update_state``: a custom state (and JSON meta) shown while the job runs."""
    fields = {"celery_state": state or states.STARTED,
              "celery_meta": serialization.dumps_checked(meta, "update_state meta").decode()}
    app.runtime.store.update(task_id, fields)


def store_state(app: "Celery", task_id: str, state: str, result: Any, traceback: Any = None) -> None:
    """``app.backend.store_result``: write a Celery state into the job's record, as the worker would.

    SUCCESS stores ``result`` as the job's result and status; FAILURE the exception's type and the
    traceback; any other state is a custom state (``store_custom_state``).
    """
    import time as _time
    if state == states.SUCCESS:
        fields = {"status": JobStatus.SUCCESS, "result": serialization.dumps_checked(result, "result").decode(),
                  "datedone": repr(_time.time())}
    elif state == states.FAILURE:
        exc_type = type(result).__name__ if isinstance(result, BaseException) else "Exception"
        fields = {"status": JobStatus.FAILED, "exceptiontype": exc_type, "datedone": repr(_time.time()),
                  "traceback": str(traceback or result)}
    else:
        store_custom_state(app, task_id, state, result)
        return
    app.runtime.store.update(task_id, fields)


def _failed(record: dict[str, Any]) -> bool:
    """The record is final and not a success."""
    status = record.get("status")
    return status in JobStatus.FINAL and status != JobStatus.SUCCESS


def _exception_from_meta(meta: Any) -> BaseException:
    """The exception described by ``update_state`` meta (Celery's ``exc_type``/``exc_message`` keys)."""
    if isinstance(meta, dict) and meta.get("exc_type"):
        message = meta.get("exc_message", [])
        return rebuild_exception({"exc_module": meta.get("exc_module", "builtins"), "exc_type": meta["exc_type"],
                                  "exc_message": message if isinstance(message, list) else [message]})
    return Exception(meta)


class AsyncResult:
    """The result of a task call, by id."""

    #: set on ``app.AsyncResult`` (a subclass bound to an app)
    _default_app: "Celery | None" = None

    def __init__(self, id: str, backend: Any = None, task_name: str | None = None,  # noqa: A002
                 app: "Celery | None" = None, parent: "AsyncResult | None" = None, strict: bool | None = None) -> None:
        if id is None:
            raise ValueError(f"AsyncResult requires a valid id, not {id!r}")
        self.id = str(id)
        self.app = app or self._default_app or _state.get_current_app()
        self.task_name = task_name
        self._parent = parent
        self.strict = bool(self.app.conf.mrqc_strict_results) if strict is None else strict
        self._cache: dict[str, Any] | None = None

    task_id = property(lambda self: self.id)

    #: True when the call asked for no result (``ignore_result``), as Celery's ``AsyncResult.ignored``
    _ignored: bool = False

    @property
    def ignored(self) -> bool:
        return self._ignored

    @ignored.setter
    def ignored(self, value: bool) -> None:
        self._ignored = bool(value)

    @property
    def backend(self) -> Any:
        """Celery's ``result.backend``: the app's (``app.backend``, its job records)."""
        return self.app.backend

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.id}>"

    def __str__(self) -> str:
        return self.id

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, AsyncResult):
            return other.id == self.id
        if isinstance(other, str):
            return other == self.id
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.id)

    def as_tuple(self) -> tuple[Any, ...]:
        parent = self.parent
        return (self.id, parent.as_tuple() if parent else None), None

    # --- the record ---------------------------------------------------------------

    def _record(self) -> dict[str, Any] | None:
        if self._cache is not None:
            return self._cache
        from .bridge import wire_results
        wire = wire_results(self.app)  # celery_wire: Celery's result backend first (mrqc.adapters)
        raw = wire.record(self.id) if wire is not None else None
        if raw is not None:
            return raw
        raw = self.app.runtime.store.get(self.id)
        if not raw:
            return None
        # a field that does not decode is left out (read as absent) rather than failing every read
        record = decode_record(raw, errors=[], extra_json=RECORD_JSON_FIELDS)
        if record.get("status") in JobStatus.FINAL:
            self._cache = record  # a final record does not change any more
        return record

    @property
    def exists(self) -> bool:
        """True if a job record exists under this id (queued, running, or finished and kept)."""
        return self._record() is not None

    @property
    def state(self) -> str:
        record = self._record()
        if record is None:
            return states.UNKNOWN if self.strict else states.PENDING
        status = record.get("status")
        if status in (JobStatus.STARTED, JobStatus.ABORT) and record.get("celery_state"):
            # a running task's update_state(); or the state a task stored before raising Ignore
            return record["celery_state"]
        return states.state_for_status(status)

    status = state

    @property
    def mrq_status(self) -> str | None:
        """The MRQ status underneath (``None``: no record)."""
        record = self._record()
        return record.get("status") if record else None

    def ready(self) -> bool:
        return self.state in states.READY_STATES

    def successful(self) -> bool:
        return self.state == states.SUCCESS

    def failed(self) -> bool:
        return self.state == states.FAILURE

    @property
    def result(self) -> Any:
        """The return value (SUCCESS), the exception (FAILURE/REVOKED/RETRY), custom meta, or None."""
        record = self._record()
        if record is None:
            return None
        status = record.get("status")
        if status == JobStatus.SUCCESS:
            return record.get("result")
        if status == JobStatus.ABORT and record.get("celery_state"):
            return record.get("celery_meta")
        if states.state_for_status(status) in states.EXCEPTION_STATES:
            return self._exception(record)
        if record.get("celery_state"):
            return record.get("celery_meta")
        return None

    info = result

    @property
    def traceback(self) -> str | None:
        record = self._record()
        if record is None or record.get("status") in (JobStatus.SUCCESS, JobStatus.QUEUED, JobStatus.STARTED):
            return None
        return record.get("traceback")

    @property
    def date_done(self) -> datetime | None:
        record = self._record()
        if record is None or not record.get("datedone"):
            return None
        return record["datedone"]  # decoded: an aware UTC datetime

    @property
    def name(self) -> str | None:
        record = self._record()
        return (record or {}).get("path") or self.task_name

    @property
    def args(self) -> Any:
        params = (self._record() or {}).get("params") or {}
        return params.get("args") if isinstance(params, dict) else None

    @property
    def kwargs(self) -> Any:
        params = (self._record() or {}).get("params") or {}
        return params.get("kwargs") if isinstance(params, dict) else None

    @property
    def worker(self) -> str | None:
        return (self._record() or {}).get("worker")

    @property
    def queue(self) -> str | None:
        return (self._record() or {}).get("queue")

    @property
    def retries(self) -> int:
        return int((self._record() or {}).get("retry_count") or 0)

    def _exception(self, record: dict[str, Any]) -> BaseException:
        """The exception a finished (or retrying) record stands for (``mrqc.states.STATUS_READINGS``)."""
        status = record.get("status")
        reading = states.reading_for_status(status)
        if reading.exception is not None and not (reading.stored_wins and record.get("exc_info")):
            if status == JobStatus.ABORT:
                message = f"aborted: {record.get('exceptiontype') or 'the task stopped itself'}"
            elif status == JobStatus.CANCEL and self._expired(record):
                message = "expired"
            else:
                message = _MESSAGES[JobStatus(status)].format(id=self.id)
            return reading.exception(message)
        text = (record.get("traceback") or "").strip().splitlines()
        last = text[-1] if text else ""
        message = last.partition(": ")[2] if ": " in last else ""
        return rebuild_exception(record.get("exc_info"), record.get("exceptiontype"), message)

    @staticmethod
    def _expired(record: dict[str, Any]) -> bool:
        """A cancelled job that was cancelled because it started after its ``expires`` time."""
        expires = (record.get("meta") or {}).get("expires")
        done = record.get("datedone")
        return bool(expires and done and done.timestamp() > float(expires))

    # --- waiting ------------------------------------------------------------------

    def get(self, timeout: float | None = None, propagate: bool = True, interval: float = 0.5,
            no_ack: bool = True, follow_parents: bool = True, callback: Callable[..., Any] | None = None,
            on_message: Any = None, on_interval: Callable[[], Any] | None = None,
            disable_sync_subtasks: bool = True, EXCEPTION_STATES: Any = states.EXCEPTION_STATES,  # noqa: N803
            PROPAGATE_STATES: Any = states.PROPAGATE_STATES) -> Any:  # noqa: N803
        """Wait for the task to finish and return its result (Celery's semantics).

        ``timeout`` seconds without a final state raise ``mrqc.exceptions.TimeoutError``.
        With ``propagate`` a FAILURE/REVOKED re-raises the task's exception; a
        failed parent (``follow_parents``) re-raises the parent's first.
        """
        if disable_sync_subtasks:
            _check_not_in_task()
        if follow_parents and propagate:
            self.maybe_throw_parents()
        record = self._wait(timeout, interval, on_interval)
        status = record.get("status")
        if callback is not None:
            callback(self.id, record.get("result"))
        if status == JobStatus.SUCCESS:
            return record.get("result")
        if status == JobStatus.ABORT and record.get("celery_state"):
            # Celery's pattern: update_state(state=FAILURE, meta=...) then raise Ignore()
            meta = record.get("celery_meta")
            if propagate and record["celery_state"] in PROPAGATE_STATES:
                raise _exception_from_meta(meta)
            return meta
        exc = self._exception(record)
        if propagate and states.state_for_status(status) in PROPAGATE_STATES:
            if follow_parents:
                self.maybe_throw_parents()
                raise self._root_cause(record)
            raise exc
        return exc

    wait = get

    def _wait(self, timeout: float | None, interval: float, on_interval: Any = None) -> dict[str, Any]:
        """The final record, waited for with mrqcore's ``Job.wait``.

        A success read from the done notification's fast path is returned as
        ``{"status": "success", "result": ...}`` without reading the record;
        any other ending reads the whole record (exception, chord/parent info).
        """
        if self._cache is not None:
            return self._cache
        from .bridge import wire_results
        wire = wire_results(self.app)
        if wire is not None:
            return wire.wait(self, timeout, interval, on_interval)
        job = Job(self.id, self.app.runtime)
        try:
            job.wait(timeout, poll_interval=interval, raise_on_failure=False, missing_ok=not self.strict,
                     on_poll=on_interval)
        except JobNotFoundError:
            raise KeyError(f"no task with id {self.id!r} (never sent, forgotten, or expired)") from None
        except WaitTimeoutError:
            raise TimeoutError("The operation timed out.") from None
        if job.data.get("status") == JobStatus.SUCCESS:
            return {"status": JobStatus.SUCCESS.value, "result": job.data.get("result")}
        # the record can expire between the two reads: then what the wait read is all there is
        return self._record() or dict(job.data)

    def _root_cause(self, record: dict[str, Any]) -> BaseException:
        """The error to raise when following parents: a chord header's own error if this job
        failed because of it (``parent_exc_info``), else this job's."""
        if record.get("parent_exc_info"):
            return rebuild_exception(record["parent_exc_info"])
        return self._exception(record)

    def maybe_throw(self, propagate: bool = True, callback: Any = None) -> None:
        record = self._record()
        if propagate and record and _failed(record):
            raise self._exception(record)

    def _throw_root_cause(self) -> None:
        record = self._record()
        if record and _failed(record):
            raise self._root_cause(record)

    maybe_reraise = maybe_throw

    def maybe_throw_parents(self) -> None:
        """Re-raise the error of the earliest failed parent (chain steps, a chord's header)."""
        chain: list[Any] = []
        parent = self.parent
        while parent is not None and len(chain) < 1000:
            chain.append(parent)
            parent = parent.parent if isinstance(parent, AsyncResult) else getattr(parent, "parent", None)
        for node in reversed(chain):
            for result in getattr(node, "results", None) or [node]:
                if isinstance(result, AsyncResult):
                    result._throw_root_cause()

    # --- actions ------------------------------------------------------------------

    def revoke(self, connection: Any = None, terminate: bool = False, signal: Any = None, wait: bool = False,
               timeout: float | None = None) -> None:
        """Cancel the job: waiting -> REVOKED now; running -> only with ``terminate=True`` (killed).

        As ``app.control.revoke``: the record first (a chain stops at a revoked step), then
        every worker is told (mrqc.control_remote).
        """
        from .control_remote import cancel_records
        previous = cancel_records(self.app, [self.id])[self.id]
        self.app.control.broadcast("revoke", arguments={"task_id": [self.id], "terminate": bool(terminate),
                                                        "signal": signal})
        if wait and previous == "started":
            try:
                self._wait(timeout, 0.2)
            except TimeoutError:
                pass
        self._cache = None

    def forget(self) -> None:
        """Delete the record (afterwards ``exists`` is False)."""
        runtime = self.app.runtime
        runtime.store.delete([self.id])
        self._cache = None

    # --- relations ----------------------------------------------------------------

    @property
    def parent(self) -> "AsyncResult | None":
        if self._parent is not None:
            return self._parent
        record = self._record()
        parent_id = ((record or {}).get("meta") or {}).get("parent_id")
        return AsyncResult(parent_id, app=self.app) if parent_id else None

    @parent.setter
    def parent(self, value: "AsyncResult | None") -> None:
        self._parent = value

    @property
    def children(self) -> list["AsyncResult"]:
        record = self._record()
        return [AsyncResult(i, app=self.app) for i in (record or {}).get("children") or []]

    def then(self, *args: Any, **kwargs: Any) -> Any:
        from .exceptions import UnsupportedOption
        raise UnsupportedOption("AsyncResult.then() (promises) is not supported by mrqc")

    def build_graph(self, *args: Any, **kwargs: Any) -> Any:
        from .exceptions import UnsupportedOption
        raise UnsupportedOption("AsyncResult.build_graph() is not supported by mrqc")


class EagerResult(AsyncResult):
    """The result of ``apply()`` / eager mode: already computed, nothing stored."""

    def __init__(self, id: str, ret_value: Any, state: str, traceback: str | None = None,  # noqa: A002
                 name: str | None = None, app: "Celery | None" = None, exc: BaseException | None = None) -> None:
        self.id = id
        self._result = ret_value
        self._state = state
        self._traceback = traceback
        self._exc = exc
        self.task_name = name
        self._parent = None
        self.app = app or _state.get_current_app()
        self.strict = False
        self._cache = None

    def _record(self) -> dict[str, Any] | None:
        return {"status": "eager"}

    @property
    def state(self) -> str:
        return self._state

    status = state

    @property
    def result(self) -> Any:
        return self._exc if self._exc is not None else self._result

    info = result

    @property
    def traceback(self) -> str | None:
        return self._traceback

    @property
    def exists(self) -> bool:
        return True

    def ready(self) -> bool:
        return True

    def get(self, timeout: float | None = None, propagate: bool = True, disable_sync_subtasks: bool = True,
            **kwargs: Any) -> Any:
        if self._state == states.SUCCESS:
            return self._result
        if self._state in states.PROPAGATE_STATES:
            if propagate:
                raise self._exc if self._exc is not None else Exception(self._result)
            return self._exc
        return self.result

    wait = get

    def maybe_throw(self, propagate: bool = True, callback: Any = None) -> None:
        if propagate and self._state in states.PROPAGATE_STATES and self._exc is not None:
            raise self._exc

    def revoke(self, *args: Any, **kwargs: Any) -> None:
        self._state = states.REVOKED

    def forget(self) -> None:
        pass

    @property
    def date_done(self) -> datetime | None:
        return None

    @property
    def children(self) -> list[AsyncResult]:
        return []

    def __repr__(self) -> str:
        return f"<EagerResult: {self.id}>"


from .result_group import GroupResult, ResultSet, result_from_tuple  # noqa: E402,F401
