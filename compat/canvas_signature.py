"""``Signature``: a task call to make later (Celery's ``celery.canvas.Signature``).

A ``Signature`` is a dict (``task``, ``args``, ``kwargs``, ``options``,
``subtask_type``, ``immutable``), JSON-serializable like Celery's, so it can
travel inside job records (``link``, ``link_error``, chain steps). Its
subclasses (``chain``, ``group``, ``chord``, ``chunks``, ``xmap``,
``xstarmap``) live in ``mrqc.canvas`` and register themselves with
``Signature.register_type`` so ``Signature.from_dict`` rebuilds them.

Import it from ``mrqc`` or ``mrqc.canvas`` as in Celery; this module is where
it is defined. (It is not called ``mrqc.signature``: that name is Celery's
``signature()`` function, exported by ``mrqc``.)
"""
from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from . import _state
from .exceptions import UnsupportedOption

if TYPE_CHECKING:
    from .app import Celery
    from .result import AsyncResult


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
    args = property(lambda self: tuple(self.get("args") or ()),
                    lambda self, value: self.__setitem__("args", list(value or ())))
    kwargs = property(lambda self: dict(self.get("kwargs") or {}),
                      lambda self, value: self.__setitem__("kwargs", dict(value or {})))
    options = property(lambda self: self["options"])
    subtask_type = property(lambda self: self.get("subtask_type"))
    immutable = property(lambda self: bool(self.get("immutable")))

    @property
    def app(self) -> "Celery":
        return _app(self._explicit_app())

    def _explicit_app(self) -> Any:
        """The app this signature was bound to: its own, its task's, else (a chain, group or chord)
        the first member's, as Celery finds a canvas's app; None: the current app."""
        found = self._app or getattr(self._type, "app", None)
        if found is None:
            kwargs = self.get("kwargs") or {}
            members = list(kwargs.get("tasks") or kwargs.get("header") or ()) if self.subtask_type else []
            if self.subtask_type == "chord" and kwargs.get("body") is not None:
                members.append(kwargs["body"])
            for member in members:
                found = member._explicit_app() if isinstance(member, Signature) else None
                if found is not None:
                    break
        return found

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

    def stamp(self, visitor: Any = None, append_stamps: bool = False, **headers: Any) -> "Signature":
        """Stamp this canvas with ``visitor``'s stamps (Celery's stamping; see ``mrqc.stamping``)."""
        from .stamping import stamp
        return stamp(self, visitor, append_stamps, **headers)

    def __or__(self, other: Any) -> "Signature":
        from .canvas import chain, chord, group  # they subclass Signature
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


def is_single_job(sig: Any) -> bool:
    """A signature that is one job: a task, or a map/starmap (one job running the task per item)."""
    return isinstance(sig, Signature) and sig.subtask_type in (None, "xmap", "xstarmap")


__all__ = ["Signature", "signature", "subtask", "maybe_signature", "as_signature_dicts", "is_single_job"]
