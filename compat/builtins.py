"""Tasks every app has, named as in Celery: ``celery.map``, ``celery.starmap``
(behind ``task.map``, ``task.starmap`` and ``task.chunks``) and
``celery.backend_cleanup`` (a no-op here: records expire by their TTL)."""
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

    for name, fun in (("celery.map", xmap), ("celery.starmap", xstarmap),
                      ("celery.backend_cleanup", backend_cleanup)):
        fun.__module__ = "celery"
        app._task_from_fun(fun, name=name)
