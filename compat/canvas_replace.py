"""``Task.replace(sig)`` and ``Task.add_to_chord(sig)`` on mrqcore.

``replace``: the running job becomes the last step of its replacement. Its run ends by parking
it again (``DelayInterrupt`` to the held due time, mrqcore's parked state), now as a call of
the built-in ``celery.accumulate(index=0)`` (which returns its first argument); the replacement
(a task, chain, group or chord) is sent with that parked job as its tail, so the replacement's
final value releases it. The job then ends SUCCESS with that value and carries on with what
its own record says comes next (chain step, chord part, ``link`` callbacks), exactly as if it
had returned the value itself: the id the caller holds gets the replacement's result, as in
Celery. If the replacement fails, the parked job ends FAILURE with the same exception and
whatever came after it fails too; the replaced task's errbacks are linked onto the
replacement, as Celery does.

``add_to_chord``: the call is recorded on the request and sent when the adding task returns
successfully (Celery sends it at once): the adding task's chord part then stands for its own
value followed by those of the added calls (a small barrier of its own, spliced into the
chord's list; see ``mrqc.workflow``). Celery orders the added results among the chord's by a
task-id tie-break on the Redis backend; mrqc puts them right after the adding task's value.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mrqcore import serialization
from mrqcore.context import get_current_job
from mrqcore.exceptions import DelayInterrupt
from mrqcore.store.base import HOLD_DUE

from .exceptions import ImproperlyConfigured, UnsupportedOption

if TYPE_CHECKING:
    from .task import Task


def replace(task: "Task", sig: Any) -> Any:
    """Replace the running call of ``task`` by ``sig`` (see the module docstring). Never returns in a
    worker (the run ends there); eagerly, returns ``sig``'s result value as Celery does."""
    from .canvas import chain, signature
    from .canvas_park import apply_now, freeze, normalize
    request = task.request
    if "chord" in sig.options:
        raise ImproperlyConfigured("A signature replacing a task must not be part of a chord")
    if isinstance(sig, chain) and not sig.tasks:
        raise ImproperlyConfigured("Cannot replace with an empty chain")
    if request.is_eager or request.called_directly:
        return sig.apply().get()
    job = get_current_job()
    if job is None or job.id != request.id:
        raise UnsupportedOption(f"{task.name}: Task.replace() is only possible while the task runs as a job")
    app = task._get_app()
    sig = sig.clone()
    for errback in request.errbacks or ():
        sig.link_error(signature(errback, app=app))
    meta = job.data.get("meta") or {}
    after = list((meta.get("chain_next") or {}).get("downstream") or ())
    tail = {"kind": "task", "id": request.id, "immutable": False, "replaced": True,
            "downstream": [request.id] + after}
    sig = normalize(app, sig)
    freeze(app, sig)
    nesting = int(meta.get("replaced_task_nesting") or 0) + 1
    job.finish_fields.update({
        "path": "celery.accumulate",
        "params": serialization.dumps({"args": [], "kwargs": {"index": 0}}).decode(),
        "meta": serialization.dumps(dict(meta, replaced_task_nesting=nesting)).decode(),
    })
    apply_now(app, sig, (), None, root_id=request.root_id or request.id, parent_id=request.id, tail=tail)
    raise DelayInterrupt(HOLD_DUE - time.time(), reason=f"replaced by {sig!r}")


def add_to_chord(task: "Task", sig: Any, lazy: bool = False) -> Any:
    """Add ``sig`` to the chord the running call is a header part of; returns its ``AsyncResult``
    (the call is sent when this task returns successfully)."""
    request = task.request
    if not request.chord:
        raise ValueError("Current task is not member of any chord")
    if lazy:
        raise UnsupportedOption(f"{task.name}: add_to_chord(lazy=True) is not supported by mrqc: the added "
                                "call is sent for you when this task returns")
    sig = sig.clone()
    result = sig.freeze()
    added = request.__dict__.setdefault("_mrqc_added", [])
    added.append(sig)
    return result


def send_added(app: Any, request: Any, chord: dict[str, Any]) -> dict[str, Any]:
    """Send the calls ``add_to_chord`` recorded; return the chord part the adding task now reports to."""
    added = request.__dict__.pop("_mrqc_added", None) or []
    if not added:
        return chord
    sub_id = f"{chord['id']}.added.{chord['index']}.{request.id}"
    size = len(added) + 1
    for index, sig in enumerate(added, start=1):
        part = {"id": sub_id, "index": index, "size": size, "splice": chord}
        sig.apply_async(chord=part, group_id=chord["id"], group_index=chord["index"],
                        root_id=request.root_id or request.id, parent_id=request.id)
    return {"id": sub_id, "index": 0, "size": size, "splice": chord}
