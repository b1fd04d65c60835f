"""``chord``: a group (header) whose results, as one list, go to a callback (body).

On mrqcore the body is created *parked* (a job record that never runs on its
own, see ``mrqc.keys``); each header task records its result in a Redis hash
and the one that completes it releases the body, exactly once (see
``mrqc.workflow``). A header failure fails the body with ``ChordError`` and
runs the body's errbacks once.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .canvas import chain, group
from .canvas_signature import Signature, is_single_job, maybe_signature
from .exceptions import UnsupportedOption

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
        app = self.app
        if body is not None:
            return chord(self.tasks, body, app=self._app, **self.options).apply_async(args, kwargs, **options)
        if app.conf.task_always_eager:
            return self.apply(args, kwargs, **options)
        if isinstance(self.body, chain):
            return chain(self, app=self._app).apply_async(args, kwargs, **options)
        for task in self.tasks:
            if not is_single_job(task):
                raise UnsupportedOption(f"chord header member {task!r} is a {task.subtask_type}; mrqc chords "
                                        "take task signatures in their header")
        if not is_single_job(self.body):
            raise UnsupportedOption(f"chord body {self.body!r} is a {self.body.subtask_type}; use a task "
                                    "signature or a chain")
        options = dict(self.options, **options)
        chain_next = options.pop("chain_next", None)
        root_id = options.pop("root_id", None)
        parent_id = options.pop("parent_id", None)
        group_id = options.pop("task_id", None) or str(uuid.uuid4())
        header = [t.clone() for t in self.tasks]
        body = self.body.clone()
        result = body.freeze()
        root_id = root_id or result.id
        from .result import GroupResult
        if not header:  # Celery: an empty header calls the body at once with []
            return body.apply_async(([],), root_id=root_id, parent_id=parent_id, chain_next=chain_next)
        for t in header:
            t.freeze()
        after = list(chain_next["downstream"]) if chain_next else []
        body.apply_async(park=True, chain_next=chain_next, root_id=root_id, parent_id=parent_id)
        header_results = apply_chord_header(app, header, group_id, result.id, body.immutable, after, args or (),
                                            kwargs=kwargs, parent_id=parent_id, root_id=root_id, **options)
        result.parent = GroupResult(group_id, header_results, app=app)
        return result

    def apply(self, args: Any = None, kwargs: Any = None, propagate: bool = True, **options: Any) -> Any:
        header = group([t.clone() for t in self.tasks], app=self._app).apply(args, kwargs)
        values = header.get(propagate=propagate)
        res = self.body.clone().apply((values,))
        res.parent = header
        return res


def apply_chord_header(app: "Celery", header: list[Signature], group_id: str, body_id: str, body_immutable: bool,
                       after_body: list[str], args: Any, kwargs: Any = None, parent_id: str | None = None,
                       root_id: str | None = None, **options: Any) -> list[Any]:
    """Queue a chord's header tasks, each knowing its index and the parked body."""
    from .result import GroupResult
    size = len(header)
    results = []
    for index, task in enumerate(header):
        chord_meta = {"id": group_id, "index": index, "size": size, "body_id": body_id,
                      "body_immutable": body_immutable, "downstream": after_body}
        results.append(task.apply_async(args, kwargs, chord=chord_meta, group_id=group_id, group_index=index,
                                        parent_id=parent_id, root_id=root_id, **options))
    GroupResult(group_id, results, app=app).save()
    return results
