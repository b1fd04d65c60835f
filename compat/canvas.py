"""Canvas: signatures, chain, group, chord, chunks, map/starmap (Celery's ``celery.canvas``).

``Signature`` itself (a JSON-serializable dict naming one task call) lives
in ``mrqc.canvas_signature`` and is re-exported here, where Celery code imports it.

How workflows run on mrqcore (details in ``mrqc.workflow`` and
docs/celery-canvas.md):

* ``chain``: every step's id is chosen up front; steps after the first are
  created at once as *parked* jobs (records in Redis that never run on their
  own), so each step's ``AsyncResult`` exists, can be revoked, and
  ``parent`` links work. When a step succeeds the next is released with the
  result prepended to its args; when one fails, every later step ends
  FAILURE with the same exception (as Celery marks them).
* ``group``: one job per member, ids saved under the group id
  (``GroupResult.restore``).
* ``chord``: the body is parked; each header task adds its result to a Redis
  hash (Lua, ``HSETNX``), and the part that completes it releases the body,
  whose release is guarded so it runs exactly once even when parts finish at
  the same instant on different workers. A header failure ends the body with
  ``ChordError`` and runs its errbacks once.
* in eager mode (``task_always_eager``) or with ``.apply()`` everything runs
  here, in order.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .canvas_signature import (Signature, as_signature_dicts, is_single_job, maybe_signature, signature,
                        subtask)

if TYPE_CHECKING:
    from .app import Celery
    from .result import GroupResult


# --- chain ---------------------------------------------------------------------------


@Signature.register_type(name="chain")
class chain(Signature):  # noqa: N801 - Celery's name
    """Run tasks one after the other, each getting the previous result as first argument."""

    @classmethod
    def from_dict(cls, d: Any, app: Any = None) -> "chain":
        tasks = [Signature.from_dict(t, app=app) for t in d["kwargs"]["tasks"]]
        return chain(*tasks, app=app, **d.get("options", {}))

    def __init__(self, *tasks: Any, app: Any = None, **options: Any) -> None:
        if len(tasks) == 1 and not isinstance(tasks[0], Signature) and isinstance(tasks[0], (list, tuple)):
            tasks = tuple(tasks[0])
        flat: list[Signature] = []
        for t in tasks:
            t = maybe_signature(t, app=app)
            flat.extend(t.tasks if isinstance(t, chain) else [t])
        Signature.__init__(self, "celery.chain", (), {"tasks": flat}, options, subtask_type="chain", app=app)

    @property
    def tasks(self) -> list[Signature]:
        return self["kwargs"]["tasks"]

    def __or__(self, other: Any) -> Signature:
        if isinstance(other, chain):
            return chain(*self.tasks, *other.tasks, app=self._app)
        if isinstance(other, Signature):
            return chain(*self.tasks, other, app=self._app)
        return NotImplemented

    def __repr__(self) -> str:
        return " | ".join(repr(t) for t in self.tasks)

    def to_json(self) -> dict[str, Any]:
        out = dict(self)
        out["kwargs"] = {"tasks": [t.to_json() for t in self.tasks]}
        return out

    def clone(self, args: Any = None, kwargs: Any = None, **opts: Any) -> "chain":
        return chain(*[t.clone() for t in self.tasks], app=self._app, **dict(self.options, **opts))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.apply_async(args, kwargs)

    def link_error(self, errback: Signature) -> Signature:
        for task in self.tasks:
            task.link_error(errback.clone() if hasattr(errback, "clone") else errback)
        return errback

    def on_error(self, errback: "Signature") -> "Signature":
        """Like ``link_error`` but returns this signature (for chaining), as in Celery."""
        self.link_error(errback)
        return self

    def link(self, callback: Signature) -> Signature:
        self.tasks[-1].link(callback)
        return callback

    def _steps(self) -> list[Signature]:
        """The steps as they run: a group followed by anything becomes a chord whose body is that
        next step (Celery's rule); anything may be a step (see ``mrqc.canvas_park``)."""
        tasks = list(self.tasks)
        steps: list[Signature] = []
        i = 0
        while i < len(tasks):
            step = tasks[i]
            while isinstance(step, group) and i + 1 < len(tasks):
                step = chord(step.tasks, tasks[i + 1], app=self._app, **step.options)
                i += 1
            steps.append(step)
            i += 1
        return steps

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        from .canvas_park import apply_now, first_id, freeze, normalize, pop_workflow_options
        app = self.app
        if app.conf.task_always_eager:
            return self.apply(args, kwargs, **options)
        if not self.tasks:
            raise ValueError("cannot apply an empty chain")
        options = dict(self.options, **options)
        flow = pop_workflow_options(options)
        sig = normalize(app, self.clone())
        result = freeze(app, sig)
        root_id = flow["root_id"] or first_id(sig)
        apply_now(app, sig, args, kwargs, root_id=root_id, parent_id=flow["parent_id"], tail=flow["chain_next"],
                  chord_part=flow["chord_part"], **options)
        return result

    def apply(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        last = None
        for n, step in enumerate(self._steps()):
            res = step.clone().apply(args if n == 0 else (last.get(),), kwargs if n == 0 else None)
            res.parent = last
            last = res
        return last


# --- group ---------------------------------------------------------------------------


@Signature.register_type(name="group")
class group(Signature):  # noqa: N801
    """Run tasks in parallel; ``apply_async`` returns a ``GroupResult``."""

    @classmethod
    def from_dict(cls, d: Any, app: Any = None) -> "group":
        return group([Signature.from_dict(t, app=app) for t in d["kwargs"]["tasks"]], app=app,
                     **d.get("options", {}))

    def __init__(self, *tasks: Any, app: Any = None, **options: Any) -> None:
        if len(tasks) == 1:
            only = tasks[0]
            if isinstance(only, (list, tuple)) or (not isinstance(only, dict) and hasattr(only, "__iter__")):
                tasks = tuple(only)
        sigs = [maybe_signature(t, app=app) for t in tasks]
        Signature.__init__(self, "celery.group", (), {"tasks": sigs}, options, subtask_type="group", app=app)

    @property
    def tasks(self) -> list[Signature]:
        return self["kwargs"]["tasks"]

    def __len__(self) -> int:  # type: ignore[override]
        return len(self.tasks)

    def __repr__(self) -> str:
        return f"group([{', '.join(repr(t) for t in self.tasks)}])"

    def to_json(self) -> dict[str, Any]:
        out = dict(self)
        out["kwargs"] = {"tasks": [t.to_json() for t in self.tasks]}
        return out

    def clone(self, args: Any = None, kwargs: Any = None, **opts: Any) -> "group":
        return group([t.clone() for t in self.tasks], app=self._app, **dict(self.options, **opts))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.apply_async(args, kwargs)

    def link(self, callback: Signature) -> Signature:
        for task in self.tasks:
            task.link(callback)
        return callback

    def link_error(self, errback: Signature) -> Signature:
        for task in self.tasks:
            task.link_error(errback)
        return errback

    def on_error(self, errback: "Signature") -> "Signature":
        """Like ``link_error`` but returns this signature (for chaining), as in Celery."""
        self.link_error(errback)
        return self

    def freeze(self, _id: str | None = None, group_id: str | None = None, **kwargs: Any) -> "GroupResult":
        from .result import GroupResult
        if _id is not None:
            self.options["task_id"] = _id
        self.options.setdefault("task_id", str(uuid.uuid4()))
        return GroupResult(self.options["task_id"], [t.freeze() for t in unroll_group(self.tasks)], app=self.app)

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> "GroupResult":
        from .result import GroupResult
        app = self.app
        if app.conf.task_always_eager:
            return self.apply(args, kwargs, **options)
        options = dict(self.options, **options)
        group_id = options.pop("task_id", None) or str(uuid.uuid4())
        if options.get("chain_next") or options.get("chord_part"):  # a group with something after it: a chord
            from .canvas_park import apply_now, freeze, pop_workflow_options
            flow = pop_workflow_options(options)
            sig = group([t.clone() for t in self.tasks], app=self._app, task_id=group_id)
            result = freeze(app, sig)
            apply_now(app, sig, args, kwargs, root_id=flow["root_id"] or group_id, parent_id=flow["parent_id"],
                      tail=flow["chain_next"], chord_part=flow["chord_part"], **options)
            return result
        results = []
        for index, task in enumerate(unroll_group(self.tasks)):
            if is_single_job(task):
                results.append(task.apply_async(args, kwargs, group_id=group_id, group_index=index, **options))
            else:
                results.append(task.apply_async(args, kwargs, **options))
        result = GroupResult(group_id, results, app=app)
        result.save()
        return result

    def apply(self, args: Any = None, kwargs: Any = None, **options: Any) -> "GroupResult":
        from .result import GroupResult
        group_id = self.options.get("task_id") or str(uuid.uuid4())
        return GroupResult(group_id, [t.clone().apply(args, kwargs) for t in self.tasks], app=self.app)


def unroll_group(tasks: list[Signature]) -> list[Signature]:
    """A group's members as Celery's ``group._prepared`` runs them: nested groups spliced in, in order;
    empty chains dropped. (A chord *header* flattens nested groups in reverse: ``canvas_park``.)"""
    out: list[Signature] = []
    for task in tasks:
        if isinstance(task, group):
            out.extend(unroll_group(task.tasks))
        elif isinstance(task, chain) and not task.tasks:
            continue
        else:
            out.append(task)
    return out


from .canvas_chord import apply_chord_header, chord  # noqa: E402 - chord subclasses Signature
from .canvas_map import chunks, xmap, xstarmap  # noqa: E402 - they subclass Signature

_chain = chain  # Celery's name of the chain class (`chain` is its subclass there)
from .stamping import StampingVisitor  # noqa: E402,F401 - Celery exports it from celery.canvas

__all__ = ["Signature", "signature", "subtask", "maybe_signature", "chain", "group", "chord", "chunks",
           "xmap", "xstarmap", "as_signature_dicts", "apply_chord_header"]
