"""What happens after a job ends, for canvas: chain steps, chord parts, and their failures.

Parked jobs (mrqcore held jobs, see ``mrqc.keys``) are released or failed
through the store (``release_held``, ``fail_held``), which act only on a job
still held, so each happens exactly once even when two workers finish chord
parts at the same instant:

* a chain step's ``meta["chain_next"]`` says what comes next:
  ``{"kind": "task", "id", "immutable", "downstream": [ids]}`` (a parked
  job, released with the result prepended to its args),
  ``{"kind": "group", "group": {sig}}`` (applied with the result), or
  ``{"kind": "chord", "header": [{sig}...], "group_id", "body_id",
  "body_immutable", "downstream": [ids]}`` (the header is applied with the
  result; the body is already parked);
* a chord header task's ``meta["chord"]`` is ``{"id", "index", "size",
  "body_id", "body_immutable", "downstream"}``; its result goes into the
  chord's barrier (``store.barrier_add``), and the part that completes it
  releases the body with the ordered list of results;
* on failure, every parked job downstream ends ``failed`` with the same
  exception (a chord body with ``ChordError``), and the body's errbacks run
  once (guarded by ``fail_held``);
* a parked step that was revoked is not released, and the parked steps after
  it are revoked too (the chain stops there).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mrqcore import serialization

from . import keys
from .exceptions import ChordError
from .utils import exception_record

if TYPE_CHECKING:
    from mrqcore.runtime import Runtime

    from .app import Celery
    from .task import Context


def release(runtime: "Runtime", job_id: str, prepend: Any = None, has_prepend: bool = False,
            meta_update: dict[str, Any] | None = None) -> bool:
    """Queue a parked job (once); with ``has_prepend``, ``prepend`` becomes its first argument."""
    store = runtime.store
    fields: dict[str, str] = {}
    if has_prepend or meta_update:
        record = store.get(job_id, ("params", "meta")) or {}
        if has_prepend:
            params = serialization.loads(record.get("params")) or {"args": [], "kwargs": {}}
            params["args"] = [prepend] + list(params.get("args") or [])
            fields["params"] = serialization.dumps_checked(params, "chained result").decode()
        if meta_update:
            meta = serialization.loads(record.get("meta")) or {}
            meta.update(meta_update)
            fields["meta"] = serialization.dumps(meta).decode()
    return store.release_held(job_id, time.time(), fields)


def fail_parked(runtime: "Runtime", job_id: str, exc: BaseException, ttl: int,
                cause: BaseException | None = None) -> bool:
    """End a parked job as failed with ``exc`` (once). True if this call did it.

    ``cause`` (a chord header's own error) is stored as ``parent_exc_info``:
    ``get()`` re-raises it first, as Celery does when it sees the failed parent.
    """
    cls = type(exc)
    fields = {"exceptiontype": f"{cls.__module__}.{cls.__name__}",
              "traceback": f"{cls.__name__}: {exc}\n(not run: an earlier step of its workflow failed)",
              "exc_info": serialization.dumps(exception_record(exc)).decode()}
    if cause is not None:
        fields["parent_exc_info"] = serialization.dumps(exception_record(cause)).decode()
    return runtime.store.fail_held(job_id, time.time(), "failed", fields, ttl)


def on_success(app: "Celery", runtime: "Runtime", request: "Context", meta: dict[str, Any], retval: Any) -> None:
    nxt = meta.get("chain_next")
    if nxt:
        _start_next(app, runtime, request, nxt, retval)
    chord = meta.get("chord")
    if chord:
        _chord_part(app, runtime, request, chord, retval)


def on_failure(app: "Celery", runtime: "Runtime", request: "Context", meta: dict[str, Any],
               exc: BaseException) -> None:
    ttl = int(runtime.config.default_ttl)
    nxt = meta.get("chain_next") or {}
    for job_id in nxt.get("downstream") or ():  # for a chord step this includes its body
        fail_parked(runtime, job_id, exc, ttl)
    chord = meta.get("chord")
    if chord:
        _fail_chord_body(app, runtime, chord["body_id"], chord.get("downstream") or (), request, exc, ttl)


def _start_next(app: "Celery", runtime: "Runtime", request: "Context", nxt: dict[str, Any], retval: Any) -> None:
    from .canvas import Signature
    kind = nxt.get("kind")
    if kind == "task":
        if not release(runtime, nxt["id"], retval, has_prepend=not nxt.get("immutable")):
            _revoke_rest_if_revoked(runtime, nxt)
    elif kind == "group":
        group = Signature.from_dict(nxt["group"], app=app)
        group.apply_async((retval,), parent_id=request.id, root_id=request.root_id)
    elif kind == "chord":
        from .canvas import apply_chord_header
        headers = [Signature.from_dict(d, app=app) for d in nxt["header"]]
        apply_chord_header(app, headers, nxt["group_id"], nxt["body_id"], bool(nxt.get("body_immutable")),
                           list(nxt.get("after_body") or ()), (retval,),
                           parent_id=request.id, root_id=request.root_id)


def _revoke_rest_if_revoked(runtime: "Runtime", nxt: dict[str, Any]) -> None:
    """The next step was revoked while parked: the chain stops there, so the steps after it are
    revoked too (instead of staying parked forever)."""
    from mrqcore.job import Job
    record = runtime.store.get(nxt["id"], ("status",)) or {}
    if record.get("status") != "cancel":
        return  # released already (this step ran twice), nothing to do
    for job_id in list(nxt.get("downstream") or ())[1:]:
        Job(job_id, runtime).cancel()


def _chord_part(app: "Celery", runtime: "Runtime", request: "Context", chord: dict[str, Any], retval: Any) -> None:
    ttl = int(runtime.config.result_ttl)
    result_json = serialization.dumps_checked(retval, "chord part result").decode()
    parts = runtime.store.barrier_add(keys.chord(chord["id"]), int(chord["index"]), result_json,
                                      int(chord["size"]), ttl)
    if parts is None:
        return
    results = [serialization.loads(parts[i]) for i in range(int(chord["size"]))]
    if not release(runtime, chord["body_id"], results, has_prepend=not chord.get("body_immutable")):
        _revoke_rest_if_revoked(runtime, {"id": chord["body_id"],
                                          "downstream": [chord["body_id"]] + list(chord.get("downstream") or ())})


def _fail_chord_body(app: "Celery", runtime: "Runtime", body_id: str, downstream: Any, request: "Context",
                     exc: BaseException, ttl: int) -> None:
    error = ChordError(f"Dependency {request.id} raised {exc!r}")
    record = runtime.store.get(body_id, ("meta",)) or {}
    if not fail_parked(runtime, body_id, error, ttl, cause=exc):
        return  # already failed (another part) or already released
    for job_id in downstream:
        fail_parked(runtime, job_id, error, ttl, cause=exc)
    body_meta = serialization.loads(record.get("meta")) or {}
    errbacks = body_meta.get("link_error") or []
    if errbacks:
        from .task import Context
        from .trace import ExceptionInfo, _call_errbacks
        body_request = Context(id=body_id, root_id=body_meta.get("root_id") or body_id, errbacks=errbacks,
                               task=body_meta.get("task"), called_directly=False,
                               delivery_info={"is_eager": False})
        task = app.tasks.get(body_meta.get("task") or "") or _AnyTask(app)
        _call_errbacks(task, body_request, error, ExceptionInfo(error))


class _AnyTask:
    """Stands in for a chord body task this process does not know (errbacks need only the app)."""

    def __init__(self, app: "Celery") -> None:
        self._app = app

    def _get_app(self) -> "Celery":
        return self._app
