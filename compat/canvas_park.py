"""Placing any canvas shape on mrqcore: apply it now, or *park* it to be started by a result later.

Every canvas primitive is built from three moves on a signature tree whose ids were all
chosen up front (``freeze``):

* ``apply_now(sig, args, ...)``: queue what runs first, park what waits;
* ``park(sig, ...)``: create its jobs parked (records that never run on their own) and return
  a *descriptor*: what ``mrqc.workflow.start(desc, retval)`` does once the result it waits for
  is known;
* every call takes a ``tail`` (the descriptor of what comes after: the rest of a chain) and a
  ``chord_part`` (the chord barrier the final value reports to, when the shape is a member of
  a chord header).

Descriptors are JSON, kept in job meta (``chain_next``, and the ``body`` of a chord part):

| kind | fields | ``start(desc, retval)`` |
|---|---|---|
| ``task`` | ``id``, ``immutable``, ``downstream``, ``replaced`` | release the parked job, ``retval`` prepended |
| ``chord`` | ``header`` (signatures), ``group_id``, ``body`` (a descriptor), ``downstream`` | apply the header with ``(retval,)``; the body is already parked |
| ``multi`` | ``parts`` (descriptors), ``group_id``, ``downstream`` | start every part with ``retval`` (a group) |

``downstream`` lists every parked job the descriptor would start, at once or later: when the
step before fails they all end FAILURE with its exception.

Shapes, matching Celery 5 (checked side by side in tests/compat/test_canvas_shapes.py):

* a chord header is flattened as Celery flattens it: a group in the header contributes its
  members (in Celery's order: a nested group's members are taken in reverse), a chain or a
  chord contributes its final value;
* a chord body may be a task, a chain, a group (the chord's result is then a ``GroupResult``)
  or a chord;
* a group followed by anything in a chain is a chord (``chain._steps``); a group as the last
  step of a chord header's chain reports its list of results.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .canvas_signature import Signature, is_single_job

if TYPE_CHECKING:
    from .app import Celery

#: the control options canvas passes between its own calls (never user options)
WORKFLOW_OPTIONS = ("chain_next", "chord_part", "root_id", "parent_id")


# --- shape ---------------------------------------------------------------------------


def normalize(app: "Celery", sig: Signature) -> Signature:
    """The same workflow with chains cut into steps and chord headers flattened (as Celery runs them).

    Done once, on a clone, before ``freeze``: every later move walks the same objects."""
    from .canvas import chain, chord, group
    if isinstance(sig, chain):
        return chain(*[normalize(app, s) for s in sig._steps()], app=app, **sig.options)
    if isinstance(sig, chord):
        return chord([normalize(app, p) for p in flatten_header(sig.tasks)], normalize(app, sig.body), app=app,
                     **sig.options)
    if isinstance(sig, group):  # inside a workflow Celery freezes it with _freeze_unroll: reversed nesting
        return group([normalize(app, m) for m in flatten_header(sig.tasks)], app=app, **sig.options)
    return sig


def flatten_header(tasks: list[Signature]) -> list[Signature]:
    """Celery's ``group._freeze_unroll``: nested groups are spliced in (``extendleft``, so reversed),
    empty chains dropped."""
    from collections import deque

    from .canvas import chain, group
    stack = deque(tasks)
    out: list[Signature] = []
    while stack:
        task = stack.popleft()
        if isinstance(task, group):
            stack.extendleft(task.tasks)
        elif isinstance(task, chain) and not task.tasks:
            continue
        else:
            out.append(task)
    return out


def freeze(app: "Celery", sig: Signature) -> Any:
    """Choose every id in ``sig`` now (idempotent); return the result of its final value."""
    from .canvas import chain, chord, group
    from .result import GroupResult
    if isinstance(sig, chain):
        results = [freeze(app, s) for s in sig.tasks]
        for prev, res in zip(results, results[1:]):
            res.parent = prev
        return results[-1]
    if isinstance(sig, chord):
        sig.options.setdefault("task_id", str(uuid.uuid4()))
        header = [freeze(app, p) for p in sig.tasks]
        body = freeze(app, sig.body)
        body.parent = GroupResult(sig.options["task_id"], header, app=app)
        return body
    if isinstance(sig, group):
        sig.options.setdefault("task_id", str(uuid.uuid4()))
        return GroupResult(sig.options["task_id"], [freeze(app, m) for m in sig.tasks], app=app)
    return sig.freeze()


def result_id(sig: Signature) -> str:
    """The id of the frozen result of ``sig``'s final value (a group's: the group id)."""
    from .canvas import chain, chord
    if isinstance(sig, chain):
        return result_id(sig.tasks[-1])
    if isinstance(sig, chord):
        return result_id(sig.body)
    return sig.options["task_id"]


def first_id(sig: Signature) -> str:
    """The id of the first job ``sig`` runs (a workflow's ``root_id``, as in Celery)."""
    from .canvas import chain, chord, group
    if isinstance(sig, chain):
        return first_id(sig.tasks[0])
    if isinstance(sig, (chord, group)) and sig.tasks:
        return first_id(sig.tasks[0])
    return result_id(sig)


# --- apply now -----------------------------------------------------------------------


def apply_now(app: "Celery", sig: Signature, args: Any, kwargs: Any, *, root_id: str, parent_id: str | None,
              tail: dict[str, Any] | None = None, chord_part: dict[str, Any] | None = None,
              group_id: str | None = None, group_index: int | None = None, **options: Any) -> None:
    """Queue what ``sig`` runs first (with ``args`` prepended), park the rest."""
    from .canvas import chain, chord, group
    if isinstance(sig, chain):
        steps = sig.tasks
        rest = park_steps(app, steps[1:], root_id=root_id, parent_id=result_id(steps[0]), tail=tail,
                          chord_part=chord_part) if len(steps) > 1 else tail
        apply_now(app, steps[0], args, kwargs, root_id=root_id, parent_id=parent_id, tail=rest,
                  chord_part=None if len(steps) > 1 else chord_part, group_id=group_id, group_index=group_index,
                  **options)
    elif isinstance(sig, chord):
        body = park(app, sig.body, root_id=root_id, parent_id=parent_id, tail=tail, chord_part=chord_part)
        apply_header(app, sig.tasks, sig.options["task_id"], body, args, kwargs, root_id=root_id,
                     parent_id=parent_id, **options)
    elif isinstance(sig, group):
        if tail is not None or chord_part is not None:  # a group with something after it is a chord
            body = tail if tail is not None else _accumulator(app, root_id, chord_part)
            apply_header(app, sig.tasks, sig.options["task_id"], body, args, kwargs, root_id=root_id,
                         parent_id=parent_id, **options)
            return
        for index, member in enumerate(sig.tasks):
            apply_now(app, member, args, kwargs, root_id=root_id, parent_id=parent_id,
                      group_id=sig.options["task_id"], group_index=index, **options)
        _save_group(app, sig)
    else:
        if group_id is not None:
            options.update(group_id=group_id, group_index=group_index)
        sig.apply_async(args, kwargs, chain_next=tail, chord=chord_part, root_id=root_id, parent_id=parent_id,
                        **options)


def apply_header(app: "Celery", parts: list[Signature], group_id: str, body: dict[str, Any], args: Any,
                 kwargs: Any = None, *, root_id: str, parent_id: str | None, **options: Any) -> None:
    """Apply a chord's (flattened) header: part ``i`` reports its final value to the barrier at ``i``;
    the part that completes the barrier starts ``body`` with the list. An empty header starts
    ``body`` at once with ``[]``, as in Celery."""
    from .workflow import start
    if not parts:
        start(app, app.runtime, body, [], parent_id=parent_id, root_id=root_id)
        return
    size = len(parts)
    for index, part in enumerate(parts):
        chord_meta = {"id": group_id, "index": index, "size": size, "body": body}
        apply_now(app, part, args, kwargs, root_id=root_id, parent_id=parent_id, chord_part=chord_meta,
                  group_id=group_id, group_index=index, **options)
    from .result import GroupResult
    GroupResult(group_id, [freeze(app, p) for p in parts], app=app).save()


# --- park ----------------------------------------------------------------------------


def park(app: "Celery", sig: Signature, *, root_id: str, parent_id: str | None, tail: dict[str, Any] | None = None,
         chord_part: dict[str, Any] | None = None) -> dict[str, Any]:
    """Create ``sig``'s jobs parked; return the descriptor that starts it with a result."""
    from .canvas import chain, chord, group
    if isinstance(sig, chain):
        return park_steps(app, sig.tasks, root_id=root_id, parent_id=parent_id, tail=tail, chord_part=chord_part)
    if isinstance(sig, chord):
        body = park(app, sig.body, root_id=root_id, parent_id=parent_id, tail=tail, chord_part=chord_part)
        return {"kind": "chord", "header": [p.to_json() for p in sig.tasks], "group_id": sig.options["task_id"],
                "body": body, "downstream": list(body["downstream"])}
    if isinstance(sig, group):
        if tail is not None or chord_part is not None:  # a group with something after it is a chord
            body = tail if tail is not None else _accumulator(app, root_id, chord_part)
            return {"kind": "chord", "header": [m.to_json() for m in sig.tasks], "group_id": sig.options["task_id"],
                    "body": body, "downstream": list(body["downstream"])}
        parts = [park(app, m, root_id=root_id, parent_id=parent_id) for m in sig.tasks]
        _save_group(app, sig)
        return {"kind": "multi", "parts": parts, "group_id": sig.options["task_id"],
                "downstream": [i for p in parts for i in p["downstream"]]}
    sig.apply_async(park=True, chain_next=tail, chord=chord_part, root_id=root_id, parent_id=parent_id)
    return {"kind": "task", "id": sig.id, "immutable": sig.immutable,
            "downstream": [sig.id] + list((tail or {}).get("downstream") or ())}


def park_steps(app: "Celery", steps: list[Signature], *, root_id: str, parent_id: str | None,
               tail: dict[str, Any] | None, chord_part: dict[str, Any] | None) -> dict[str, Any]:
    """Park a chain's steps (last first, each knowing the next); return the first one's descriptor."""
    desc = tail
    for index in range(len(steps) - 1, -1, -1):
        parent = result_id(steps[index - 1]) if index > 0 else parent_id
        desc = park(app, steps[index], root_id=root_id, parent_id=parent, tail=desc,
                    chord_part=chord_part if index == len(steps) - 1 else None)
    assert desc is not None
    return desc


def _accumulator(app: "Celery", root_id: str, chord_part: dict[str, Any] | None) -> dict[str, Any]:
    """A parked ``celery.accumulate(index=0)``: hands a group's list of results on as one value."""
    sig = Signature("celery.accumulate", (), {"index": 0}, app=app)
    sig.freeze()
    return park(app, sig, root_id=root_id, parent_id=None, chord_part=chord_part)


def _save_group(app: "Celery", sig: Signature) -> None:
    from .result import GroupResult
    GroupResult(sig.options["task_id"], [freeze(app, m) for m in sig.tasks], app=app).save()


def pop_workflow_options(options: dict[str, Any]) -> dict[str, Any]:
    """Take canvas's own control options out of ``options`` (returned by name, absent ones as None)."""
    return {name: options.pop(name, None) for name in WORKFLOW_OPTIONS}


__all__ = ["normalize", "flatten_header", "freeze", "result_id", "first_id", "apply_now", "apply_header", "park",
           "park_steps", "pop_workflow_options", "is_single_job"]
