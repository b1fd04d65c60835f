"""``task.map``, ``task.starmap`` and ``task.chunks``: the canvas types that run many calls in one job.

``xmap``/``xstarmap`` are one job of the built-in ``celery.map``/``celery.starmap``
task, which calls the task for each item; ``chunks`` is a group of starmaps.
"""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Iterable

from .canvas import group
from .canvas_signature import Signature, maybe_signature

if TYPE_CHECKING:
    from .result import AsyncResult, GroupResult


@Signature.register_type(name="xmap")
class xmap(Signature):  # noqa: N801
    """``task.map(items)``: one job calling the task for each item; returns the list of results."""

    builtin = "celery.map"

    @classmethod
    def from_dict(cls, d: Any, app: Any = None) -> "xmap":
        return cls(Signature.from_dict(d["kwargs"]["task"], app=app), d["kwargs"]["it"], app=app,
                   **d.get("options", {}))

    def __init__(self, task: Any, it: Iterable[Any], app: Any = None, **options: Any) -> None:
        sig = maybe_signature(task, app=app)
        Signature.__init__(self, self.builtin, (), {"task": sig.to_json(), "it": list(it)}, options,
                           subtask_type=type(self).__name__, immutable=True, app=app)

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> "AsyncResult":
        return self.app.tasks[self.builtin].apply_async((), self.kwargs, **dict(self.options, **options))

    def apply(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        return self.app.tasks[self.builtin].apply((), self.kwargs, **options)


@Signature.register_type(name="xstarmap")
class xstarmap(xmap):  # noqa: N801
    """``task.starmap(items)``: like map, each item is an argument tuple."""

    builtin = "celery.starmap"


@Signature.register_type(name="chunks")
class chunks(Signature):  # noqa: N801
    """``task.chunks(items, n)``: split items into jobs of ``n`` calls each (a group of starmaps)."""

    @classmethod
    def from_dict(cls, d: Any, app: Any = None) -> "chunks":
        kw = d["kwargs"]
        return chunks(Signature.from_dict(kw["task"], app=app), kw["it"], kw["n"], app=app, **d.get("options", {}))

    def __init__(self, task: Any, it: Iterable[Any], n: int, app: Any = None, **options: Any) -> None:
        sig = maybe_signature(task, app=app)
        Signature.__init__(self, "celery.chunks", (), {"task": sig.to_json(), "it": [list(x) for x in it], "n": n},
                           options, subtask_type="chunks", immutable=True, app=app)

    def group(self) -> group:
        kw = self.kwargs
        task = Signature.from_dict(kw["task"], app=self._app)
        items = iter(kw["it"])
        parts = []
        while True:
            part = list(itertools.islice(items, int(kw["n"])))
            if not part:
                break
            parts.append(xstarmap(task, part, app=self._app))
        return group(parts, app=self._app)

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> "GroupResult":
        return self.group().apply_async(**dict(self.options, **options))

    def apply(self, args: Any = None, kwargs: Any = None, **options: Any) -> "GroupResult":
        return self.group().apply()

    def __call__(self, **options: Any) -> Any:
        return self.apply_async(**options)
