"""Canvas: signatures, chain, group, chord, chunks, map/starmap (Celery's ``celery.canvas``).

A ``Signature`` is a dict (``task``, ``args``, ``kwargs``, ``options``,
``subtask_type``, ``immutable``), JSON-serializable like Celery's, so it can
travel inside job records (``link``, ``link_error``, chain steps).

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

import copy
import uuid
from typing import TYPE_CHECKING, Any

from . import _state
from .exceptions import UnsupportedOption

if TYPE_CHECKING:
    from .app import Celery
    from .result import AsyncResult, GroupResult


def _app(app: Any) -> "Celery":
    return app if app is not None else _state.get_current_app()


class Signature(dict):
    """A task call to make later: ``add.s(2, 2)``, ``signature("proj.add", args=(2, 2))``."""

    TYPES: dict[str, type["Signature"]] = {}

    @classmethod
    def register_type(cls, name: str | None = None) -> Any:
        def register(subclass: type["Signature"]) -> type["Signature"]:
            cls.TYPES[name or subclass.__name__] = subclass
            return subclass
        return register

    @classmethod
    def from_dict(cls, d: Any, app: Any = None) -> "Signature":
        if isinstance(d, Signature):
            return d
        typ = d.get("subtask_type")
        if typ:
            return cls.TYPES[typ].from_dict(d, app=app)
        return Signature(d, app=app)

    def __init__(self, task: Any = None, args: Any = None, kwargs: Any = None, options: Any = None,
                 type: Any = None, subtask_type: str | None = None, immutable: bool = False,  # noqa: A002
                 app: Any = None, **ex: Any) -> None:
        self._app = app
        if isinstance(task, dict):
            super().__init__(task)
            self["args"] = list(self.get("args") or [])
            self["kwargs"] = dict(self.get("kwargs") or {})
            self["options"] = dict(self.get("options") or {})
            self.setdefault("subtask_type", None)
            self.setdefault("immutable", False)
            self._type = None
            return
        name = task
        self._type = None
        if task is not None and not isinstance(task, str):
            self._type = task
            name = task.name
        super().__init__(task=name, args=list(args or ()), kwargs=dict(kwargs or {}),
                         options=dict(options or {}, **ex), subtask_type=subtask_type,
                         immutable=immutable)

    # --- attributes ---------------------------------------------------------------

    task = property(lambda self: self.get("task"))
    name = property(lambda self: self.get("task"))
    args = property(lambda self: tuple(self.get("args") or ()))
    kwargs = property(lambda self: dict(self.get("kwargs") or {}))
    options = property(lambda self: self["options"])
    subtask_type = property(lambda self: self.get("subtask_type"))
    immutable = property(lambda self: bool(self.get("immutable")))

    @property
    def app(self) -> "Celery":
        return _app(self._app or getattr(self._type, "app", None))

    @property
    def type(self) -> Any:
        return self._type or self.app.tasks[self["task"]]

    @property
    def id(self) -> str | None:
        return self.options.get("task_id")

    # --- building -----------------------------------------------------------------

    def clone(self, args: Any = None, kwargs: Any = None, **opts: Any) -> "Signature":
        sig = Signature.from_dict(copy.deepcopy(dict(self)), app=self._app)
        sig._type = self._type
        if args or kwargs or opts:
            merged_args, merged_kwargs, merged_opts = self._merge(args, kwargs, opts)
            sig["args"], sig["kwargs"], sig["options"] = list(merged_args), merged_kwargs, merged_opts
        return sig

    partial = clone

    def _merge(self, args: Any = None, kwargs: Any = None, options: Any = None) -> tuple[tuple[Any, ...], dict, dict]:
        options = dict(self.options, **(options or {}))
        if self.immutable:
            return self.args, self.kwargs, options
        return tuple(args or ()) + self.args, dict(self.kwargs, **(kwargs or {})), options

    def set(self, immutable: bool | None = None, **options: Any) -> "Signature":
        if immutable is not None:
            self["immutable"] = immutable
        self.options.update(options)
        return self

    def set_immutable(self, immutable: bool) -> None:
        self["immutable"] = immutable

    def freeze(self, _id: str | None = None, group_id: str | None = None, **kwargs: Any) -> "AsyncResult":
        """Choose the task id now (``options["task_id"]``) and return its AsyncResult."""
        from .result import AsyncResult
        if _id is not None:
            self.options["task_id"] = _id
        self.options.setdefault("task_id", str(uuid.uuid4()))
        if group_id is not None:
            self.options["group_id"] = group_id
        return AsyncResult(self.options["task_id"], app=self.app, task_name=self.task)

    def link(self, callback: "Signature") -> "Signature":
        self.options.setdefault("link", []).append(callback)
        return callback

    def link_error(self, errback: "Signature") -> "Signature":
        self.options.setdefault("link_error", []).append(errback)
        return errback

    def on_error(self, errback: "Signature") -> "Signature":
        """Like ``link_error`` but returns this signature (for chaining), as in Celery."""
        self.link_error(errback)
        return self

    def __or__(self, other: Any) -> "Signature":
        if isinstance(other, group) and not isinstance(self, group):
            return chain(self, other, app=self._app)
        if isinstance(self, group):
            if isinstance(other, chain):
                return chain(chord(self.tasks, other.tasks[0], app=self._app), *other.tasks[1:], app=self._app)
            return chord(self.tasks, other, app=self._app)
        if isinstance(other, chain):
            return chain(self, *other.tasks, app=self._app)
        if isinstance(other, Signature):
            return chain(self, other, app=self._app)
        return NotImplemented

    def __deepcopy__(self, memo: Any) -> "Signature":
        sig = Signature.from_dict(copy.deepcopy(dict(self), memo), app=self._app)
        sig._type = self._type
        return sig

    def __repr__(self) -> str:
        args = ", ".join([repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()])
        return f"{self.task}({args}){'!' if self.immutable else ''}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (nested signatures in options become dicts)."""
        out = dict(self)
        options = dict(out.get("options") or {})
        for key in ("link", "link_error"):
            if key in options:
                options[key] = as_signature_dicts(options[key], self._app)
        out["options"] = options
        out["args"] = list(self.args)
        return out

    # --- calling ------------------------------------------------------------------

    def __call__(self, *partial_args: Any, **partial_kwargs: Any) -> Any:
        args, kwargs, _ = self._merge(partial_args, partial_kwargs, None)
        return self.type(*args, **kwargs)

    def delay(self, *partial_args: Any, **partial_kwargs: Any) -> "AsyncResult":
        return self.apply_async(partial_args, partial_kwargs)

    def apply_async(self, args: Any = None, kwargs: Any = None, route_name: Any = None,
                    **options: Any) -> "AsyncResult":
        args, kwargs, options = self._merge(args, kwargs, options)
        task = self.app.tasks.get(self.task)
        options.pop("subtask_type", None)
        if task is not None:
            return task.apply_async(args, kwargs, **options)
        if self.app.conf.task_always_eager:
            from .exceptions import NotRegistered
            raise NotRegistered(self.task)
        return self.app.send_task(self.task, args, kwargs, **options)

    def apply(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        args, kwargs, options = self._merge(args, kwargs, options)
        return self.type.apply(args, kwargs, **options)

    def AsyncResult(self, task_id: str) -> "AsyncResult":  # noqa: N802
        from .result import AsyncResult
        return AsyncResult(task_id, app=self.app, task_name=self.task)


def signature(varies: Any, *args: Any, **kwargs: Any) -> Signature:
    """``signature("name", args=(...), kwargs={...}, options...)`` or ``signature(dict)``."""
    app = kwargs.pop("app", None)
    if isinstance(varies, dict):
        if isinstance(varies, Signature):
            return varies.clone()
        return Signature.from_dict(varies, app=app)
    return Signature(varies, *args, app=app, **kwargs)


subtask = signature


def maybe_signature(d: Any, app: Any = None, clone: bool = False) -> Signature | None:
    if d is None:
        return None
    sig = Signature.from_dict(d, app=app) if isinstance(d, dict) else d
    return sig.clone() if clone else sig


def as_signature_dicts(value: Any, app: Any = None) -> list[dict[str, Any]]:
    """One signature or a list of them -> JSON-safe dicts (what ``link``/``link_error`` store)."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        sig = item if isinstance(item, Signature) else Signature.from_dict(item, app=app)
        if sig.subtask_type not in (None,):
            raise UnsupportedOption(f"link/link_error with a {sig.subtask_type} is not supported by mrqc; "
                                    "link a task signature")
        out.append(sig.to_json())
    return out


def _is_simple(sig: Any) -> bool:
    """A signature that is one job: a task, or a map/starmap (one job running the task per item)."""
    return isinstance(sig, Signature) and sig.subtask_type in (None, "xmap", "xstarmap")


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
        """Flattened steps: a group followed by anything becomes a chord; a chord body that is a
        chain is unrolled after the chord (chord(h, b1 | b2) == chord(h, b1) | b2)."""
        tasks = list(self.tasks)
        steps: list[Signature] = []
        i = 0
        while i < len(tasks):
            step = tasks[i]
            if isinstance(step, group) and i + 1 < len(tasks):
                step = chord(step.tasks, tasks[i + 1], app=self._app)
                i += 1
            if isinstance(step, chord) and isinstance(step.body, chain):
                body_tasks = list(step.body.tasks)
                steps.append(chord(step.tasks, body_tasks[0], app=self._app, **step.options))
                tasks[i + 1:i + 1] = body_tasks[1:]
            else:
                steps.append(step)
            i += 1
        for n, step in enumerate(steps):
            if isinstance(step, group) and n != len(steps) - 1:
                raise UnsupportedOption("a group in the middle of a chain must be followed by a task")
            if not (_is_simple(step) or isinstance(step, (chord, group))):
                raise UnsupportedOption(f"chain step {step!r} ({step.subtask_type}) is not supported by mrqc")
        return steps

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        app = self.app
        if app.conf.task_always_eager:
            return self.apply(args, kwargs, **options)
        steps = [s.clone() for s in self._steps()]
        if not steps:
            raise ValueError("cannot apply an empty chain")
        options = dict(self.options, **options)
        results = [_freeze(s, app) for s in steps]
        first = steps[0]
        root_id = options.pop("root_id", None) or _first_id(first)
        for prev, res in zip(results, results[1:]):
            res.parent = prev
        desc = _park_steps(app, steps[1:], root_id, results)
        if _is_simple(first):
            first.apply_async(args, kwargs, chain_next=desc, root_id=root_id, **options)
        elif isinstance(first, chord):
            first.apply_async(args, kwargs, chain_next=desc, root_id=root_id, **options)
        else:
            first.apply_async(args, kwargs, root_id=root_id, **options)
        return results[-1]

    def apply(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        last = None
        for n, step in enumerate(self._steps()):
            res = step.clone().apply(args if n == 0 else (last.get(),), kwargs if n == 0 else None)
            res.parent = last
            last = res
        return last


def _first_id(step: Signature) -> str:
    return step.options["task_id"] if _is_simple(step) else step.body.options["task_id"]  # type: ignore[attr-defined]


def _freeze(step: Signature, app: "Celery") -> Any:
    """Choose every id of a step now; return the step's result object."""
    from .result import AsyncResult, GroupResult
    if _is_simple(step):
        return step.freeze()
    if isinstance(step, chord):
        step.options.setdefault("task_id", str(uuid.uuid4()))  # the group id
        header = [t.freeze() for t in step.tasks]
        body = step.body.freeze()
        body.parent = GroupResult(step.options["task_id"], header, app=app)
        return body
    if isinstance(step, group):
        step.options.setdefault("task_id", str(uuid.uuid4()))
        return GroupResult(step.options["task_id"], [t.freeze() for t in step.tasks], app=app)
    raise UnsupportedOption(f"cannot freeze {step!r}")


def _park_steps(app: "Celery", steps: list[Signature], root_id: str, results: list[Any]) -> dict[str, Any] | None:
    """Create steps 2..n parked (last first) and return the descriptor of the first of ``steps``."""
    desc: dict[str, Any] | None = None
    offset = len(results) - len(steps)
    for idx in range(len(steps) - 1, -1, -1):
        step = steps[idx]
        parent = results[offset + idx - 1].id if offset + idx > 0 else None
        after = list(desc["downstream"]) if desc else []
        if _is_simple(step):
            step.apply_async(park=True, chain_next=desc, root_id=root_id, parent_id=parent)
            desc = {"kind": "task", "id": step.id, "immutable": step.immutable, "downstream": [step.id] + after}
        elif isinstance(step, chord):
            body = step.body
            body.apply_async(park=True, chain_next=desc, root_id=root_id, parent_id=parent)
            desc = {"kind": "chord", "header": [t.to_json() for t in step.tasks], "group_id": step.options["task_id"],
                    "body_id": body.id, "body_immutable": body.immutable, "after_body": after,
                    "downstream": [body.id] + after}
        else:  # a group, last
            desc = {"kind": "group", "group": step.to_json(), "downstream": []}
    return desc


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
        return GroupResult(self.options["task_id"], [t.freeze() for t in self.tasks], app=self.app)

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> "GroupResult":
        from .result import GroupResult
        app = self.app
        if app.conf.task_always_eager:
            return self.apply(args, kwargs, **options)
        options = dict(self.options, **options)
        group_id = options.pop("task_id", None) or str(uuid.uuid4())
        options.pop("chain_next", None)
        results = []
        for index, task in enumerate(self.tasks):
            if _is_simple(task):
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


from .canvas_chord import apply_chord_header, chord  # noqa: E402 - chord subclasses Signature
from .canvas_map import chunks, xmap, xstarmap  # noqa: E402 - they subclass Signature

__all__ = ["Signature", "signature", "subtask", "maybe_signature", "chain", "group", "chord", "chunks",
           "xmap", "xstarmap", "as_signature_dicts", "apply_chord_header"]
