"""Tasks every app has, named as in Celery: ``celery.map``, ``celery.starmap``
(behind ``task.map``, ``task.starmap`` and ``task.chunks``) and
``celery.backend_cleanup`` (a no-op here: records expire by their TTL) and ``celery.accumulate``
(what ``Task.replace`` and a chord header's chain ending in a group finish with)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Celery


def register_builtins(app: "Celery") -> None:
    from .canvas import Signature

    def xmap(task: Any, it: list[Any]) -> list[Any]:
        fun = Signature.from_dict(task, app=app).type
        return [fun(item) for item in it]

    def xstarmap(task: Any, it: list[Any]) -> list[Any]:
        fun = Signature.from_dict(task, app=app).type
        return [fun(*item) for item in it]

    def backend_cleanup() -> None:
        return None

    def accumulate(*args: Any, **kwargs: Any) -> Any:  # Celery's: behind Task.replace and chains ending in groups
        index = kwargs.get("index")
        return args[index] if index is not None else args

    for name, fun in (("celery.map", xmap), ("celery.starmap", xstarmap),
                      ("celery.backend_cleanup", backend_cleanup), ("celery.accumulate", accumulate)):
        fun.__module__ = "celery"
        app._task_from_fun(fun, name=name)
