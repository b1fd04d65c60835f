"""What happens after a job ends, for canvas: chain steps, chord parts, and their failures.

Parked jobs (mrqcore held jobs, see ``mrqc.keys``) are released or failed
through the store (``release_held``, ``fail_held``), which act only on a job
still held, so each happens exactly once even when two workers finish chord
parts at the same instant:

* a chain step's ``meta["chain_next"]`` is a descriptor of what comes next
  (``mrqc.canvas_park``: a parked task, a chord whose body is parked, or a
  group of parked parts), started with the result (``start``);
* the job giving a chord header part's final value has ``meta["chord"]`` =
  ``{"id", "index", "size", "body"}`` (``body``: the body's descriptor); its
  result goes into the chord's barrier (``store.barrier_add``), and the part
  that completes it starts the body with the ordered list of results. A part
  added by ``Task.add_to_chord`` reports to a small barrier of its own whose
  ``splice`` names the part it extends: once complete, its values take that
  part's place in the list;
* on failure, every parked job downstream ends ``failed`` with the same
  exception (a chord body with ``ChordError``), and the body's errbacks run
  once (guarded by ``fail_held``); a failed parked job that was itself a
  chord part (a chain or chord inside a header) fails that chord in turn;
* a job that replaced itself (``Task.replace``) is parked again and released
  by its replacement's last step (``replaced`` in the descriptor);
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
        start(app, runtime, nxt, retval, parent_id=request.id, root_id=request.root_id)
    chord = meta.get("chord")
    if chord:
        from .canvas_replace import send_added
        _chord_part(app, runtime, request, send_added(app, request, chord), retval)


def on_failure(app: "Celery", runtime: "Runtime", request: "Context", meta: dict[str, Any],
               exc: BaseException) -> None:
    ttl = int(runtime.config.default_ttl)
    nxt = meta.get("chain_next") or {}
    # for a chord step this includes its body; a parked job that was a chord part fails its chord too
    _fail_jobs(app, runtime, nxt.get("downstream") or (), request, exc, None, ttl)
    chord = meta.get("chord")
    if chord:
        _fail_chord(app, runtime, chord, request, exc, ttl)


def start(app: "Celery", runtime: "Runtime", desc: dict[str, Any], retval: Any, parent_id: str | None = None,
          root_id: str | None = None) -> None:
    """Start what ``desc`` describes (see ``mrqc.canvas_park``) with ``retval``."""
    from .canvas import Signature
    kind = desc.get("kind")
    if kind == "task":
        if desc.get("replaced"):
            released = _release_replaced(runtime, desc["id"], retval)
        else:
            released = release(runtime, desc["id"], retval, has_prepend=not desc.get("immutable"))
        if not released:
            _revoke_rest_if_revoked(runtime, desc)
    elif kind == "multi":
        for part in desc.get("parts") or ():
            start(app, runtime, part, retval, parent_id=parent_id, root_id=root_id)
    elif kind == "group":  # older records: a group applied when started (now "multi", parked parts)
        group = Signature.from_dict(desc["group"], app=app)
        group.apply_async((retval,), parent_id=parent_id, root_id=root_id)
    elif kind == "chord":
        from .canvas_park import apply_header
        headers = [Signature.from_dict(d, app=app) for d in desc["header"]]
        apply_header(app, headers, desc["group_id"], _chord_body(desc), (retval,), parent_id=parent_id,
                     root_id=root_id or parent_id or desc["group_id"])


def _chord_body(chord: dict[str, Any]) -> dict[str, Any]:
    """A chord's body descriptor (records written before ``body`` existed name a parked task)."""
    if chord.get("body"):
        return chord["body"]
    after = list(chord.get("after_body") or chord.get("downstream") or ())
    return {"kind": "task", "id": chord["body_id"], "immutable": bool(chord.get("body_immutable")),
            "downstream": [chord["body_id"]] + [i for i in after if i != chord["body_id"]]}


def _release_replaced(runtime: "Runtime", job_id: str, retval: Any, wait: float = 60.0) -> bool:
    """Release a job that replaced itself (``Task.replace``): its own run may not have finished parking
    it yet (the replacement was sent from inside that run), so wait while it is still ``started``: its
    record (status and new params) is written in one atomic finish, read only after it."""
    from mrqcore.job import JobStatus
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        record = runtime.store.get(job_id, ("status",)) or {}
        if record.get("status") != JobStatus.STARTED:
            return release(runtime, job_id, retval, has_prepend=True)
        time.sleep(0.05)
    return False


def _revoke_rest_if_revoked(runtime: "Runtime", nxt: dict[str, Any]) -> None:
    """The next step was revoked while parked: the chain stops there, so the steps after it are
    revoked too (instead of staying parked forever)."""
    from mrqcore.job import Job, JobStatus
    record = runtime.store.get(nxt["id"], ("status",)) or {}
    if record.get("status") != JobStatus.CANCEL:
        return  # released already (this step ran twice), nothing to do
    for job_id in list(nxt.get("downstream") or ())[1:]:
        Job(job_id, runtime).cancel()


#: a chord part's value that stands for several (``Task.add_to_chord``): spliced into the body's list
SPLICE = "__mrqc_chord_splice__"


def _chord_part(app: "Celery", runtime: "Runtime", request: "Context", chord: dict[str, Any], retval: Any) -> None:
    ttl = int(runtime.config.result_ttl)
    value = serialization.dumps_checked(retval, "chord part result").decode()
    while True:
        parts = runtime.store.barrier_add(keys.chord(chord["id"]), int(chord["index"]), value,
                                          int(chord["size"]), ttl)
        if parts is None:
            return
        results = _spliced([serialization.loads(parts[i]) for i in range(int(chord["size"]))])
        outer = chord.get("splice")
        if outer is None:
            break
        value, chord = serialization.dumps({SPLICE: results}).decode(), outer  # this part's values, in order
    start(app, runtime, _chord_body(chord), results, parent_id=request.id, root_id=request.root_id)


def _spliced(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, dict) and list(value) == [SPLICE]:
            out.extend(value[SPLICE])
        else:
            out.append(value)
    return out


def _fail_chord(app: "Celery", runtime: "Runtime", chord: dict[str, Any], request: "Context",
                exc: BaseException, ttl: int) -> None:
    """A part of ``chord`` failed: its body ends FAILURE with ``ChordError`` (once), its errbacks run."""
    while chord.get("splice"):
        chord = chord["splice"]
    error = ChordError(f"Dependency {request.id} raised {exc!r}")
    body = _chord_body(chord)
    _fail_jobs(app, runtime, body["downstream"], request, error, exc, ttl, errbacks_for=set(_heads(body)))


def _heads(desc: dict[str, Any]) -> list[str]:
    """The jobs ``desc`` would start first (a chord body's errbacks are theirs)."""
    kind = desc.get("kind")
    if kind == "task":
        return [desc["id"]]
    if kind == "multi":
        return [i for part in desc.get("parts") or () for i in _heads(part)]
    if kind == "chord":
        return _heads(_chord_body(desc))
    return []


def _fail_jobs(app: "Celery", runtime: "Runtime", job_ids: Any, request: "Context", exc: BaseException,
               cause: BaseException | None, ttl: int, errbacks_for: set[str] | None = None) -> None:
    """End parked jobs as failed (each once); a failed job that was a chord part fails that chord; the
    errbacks of the jobs in ``errbacks_for`` run (in this process, as for a failed chord body)."""
    for job_id in job_ids:
        record = runtime.store.get(job_id, ("meta",)) or {}
        if not fail_parked(runtime, job_id, exc, ttl, cause=cause if cause is not None else None):
            continue  # already failed (another part) or already released
        meta = serialization.loads(record.get("meta")) or {}
        if errbacks_for and job_id in errbacks_for and meta.get("link_error"):
            _run_errbacks(app, job_id, meta, exc)
        if meta.get("chord"):
            _fail_chord(app, runtime, meta["chord"], request, cause if cause is not None else exc, ttl)


def _run_errbacks(app: "Celery", job_id: str, meta: dict[str, Any], error: BaseException) -> None:
    from .task import Context
    from .trace import ExceptionInfo, _call_errbacks
    body_request = Context(id=job_id, root_id=meta.get("root_id") or job_id, errbacks=meta.get("link_error"),
                           task=meta.get("task"), called_directly=False, delivery_info={"is_eager": False})
    task = app.tasks.get(meta.get("task") or "") or _AnyTask(app)
    _call_errbacks(task, body_request, error, ExceptionInfo(error))


class _AnyTask:
    """Stands in for a chord body task this process does not know (errbacks need only the app)."""

    def __init__(self, app: "Celery") -> None:
        self._app = app

    def _get_app(self) -> "Celery":
        return self._app
