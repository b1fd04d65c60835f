"""``chord``: a group (header) whose results, as one list, go to a callback (body).

On mrqcore the body is created *parked* (job records that never run on their
own, see ``mrqc.keys``); each header part records its final value in a Redis
hash and the one that completes it starts the body, exactly once (see
``mrqc.workflow``). A header failure fails the body with ``ChordError`` and
runs the body's errbacks once. Header members and the body may be any canvas
shape (``mrqc.canvas_park``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .canvas import chain, group
from .canvas_signature import Signature, maybe_signature

if TYPE_CHECKING:
    from .app import Celery
    from .result import AsyncResult


@Signature.register_type(name="chord")
class chord(Signature):  # noqa: N801
    """A group (header) whose results, as one list, go to a callback (body) once all succeeded."""

    @classmethod
    def from_dict(cls, d: Any, app: Any = None) -> "chord":
        kw = d["kwargs"]
        return chord([Signature.from_dict(t, app=app) for t in kw["header"]], Signature.from_dict(kw["body"], app=app),
                     app=app, **d.get("options", {}))

    def __init__(self, header: Any, body: Any = None, args: Any = None, kwargs: Any = None, app: Any = None,
                 **options: Any) -> None:
        if isinstance(header, group):
            header = header.tasks
        elif isinstance(header, dict):  # one signature: a header of one, as in Celery
            header = [header]
        header = [maybe_signature(t, app=app) for t in header]
        Signature.__init__(self, "celery.chord", args or (), dict(kwargs or {}, header=header,
                                                                  body=maybe_signature(body, app=app)),
                           options, subtask_type="chord", app=app)

    @property
    def tasks(self) -> list[Signature]:
        return self["kwargs"]["header"]

    @property
    def body(self) -> Signature:
        return self["kwargs"]["body"]

    def __repr__(self) -> str:
        return f"chord([{', '.join(repr(t) for t in self.tasks)}], {self.body!r})"

    def to_json(self) -> dict[str, Any]:
        out = dict(self)
        out["kwargs"] = {"header": [t.to_json() for t in self.tasks], "body": self.body.to_json()}
        return out

    def clone(self, args: Any = None, kwargs: Any = None, **opts: Any) -> "chord":
        return chord([t.clone() for t in self.tasks], self.body.clone(), app=self._app, **dict(self.options, **opts))

    def __call__(self, body: Any = None, **options: Any) -> Any:
        if body is not None:
            return chord(self.tasks, body, app=self._app, **options).apply_async()
        return self.apply_async(**options)

    def link(self, callback: Signature) -> Signature:
        self.body.link(callback)
        return callback

    def link_error(self, errback: Signature) -> Signature:
        self.body.link_error(errback)
        return errback

    def on_error(self, errback: "Signature") -> "Signature":
        """Like ``link_error`` but returns this signature (for chaining), as in Celery."""
        self.link_error(errback)
        return self

    def apply_async(self, args: Any = None, kwargs: Any = None, body: Any = None, **options: Any) -> "AsyncResult":
        """Queue the header, park the body (any shape: task, chain, group, chord); returns the body's result
        (a ``GroupResult`` when the body is a group), whose ``parent`` is the header's ``GroupResult``."""
        from .canvas_park import apply_now, freeze, normalize, pop_workflow_options
        app = self.app
        if body is not None:
            return chord(self.tasks, body, app=self._app, **self.options).apply_async(args, kwargs, **options)
        if app.conf.task_always_eager:
            return self.apply(args, kwargs, **options)
        if self.body is None:
            raise ValueError("a chord needs a body: chord(header, body), or chord(header)(body)")
        options = dict(self.options, **options)
        flow = pop_workflow_options(options)
        sig = normalize(app, self.clone())
        if options.get("task_id"):
            sig.options["task_id"] = options.pop("task_id")  # Celery: a chord's task_id is its group id
        result = freeze(app, sig)
        root_id = flow["root_id"] or result.id
        apply_now(app, sig, args, kwargs, root_id=root_id, parent_id=flow["parent_id"], tail=flow["chain_next"],
                  chord_part=flow["chord_part"], **options)
        return result

    def apply(self, args: Any = None, kwargs: Any = None, propagate: bool = True, **options: Any) -> Any:
        from .canvas_park import flatten_header
        header = group([t.clone() for t in flatten_header(self.tasks)], app=self._app).apply(args, kwargs)
        values = header.get(propagate=propagate)
        res = self.body.clone().apply((values,))
        res.parent = header
        return res


def apply_chord_header(app: "Celery", header: list[Signature], group_id: str, body_id: str, body_immutable: bool,
                       after_body: list[str], args: Any, kwargs: Any = None, parent_id: str | None = None,
                       root_id: str | None = None, **options: Any) -> list[Any]:
    """Queue a chord's header for a body already parked as ``body_id`` (kept for callers of mrqc's
    earlier canvas; ``mrqc.canvas_park.apply_header`` takes any body)."""
    from .canvas_park import apply_header, freeze, flatten_header
    parts = flatten_header(header)
    body = {"kind": "task", "id": body_id, "immutable": body_immutable, "downstream": [body_id] + list(after_body)}
    apply_header(app, parts, group_id, body, args, kwargs, root_id=root_id or body_id, parent_id=parent_id,
                 **options)
    return [freeze(app, p) for p in parts]
