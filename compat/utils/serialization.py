"""``mrqc.utils.serialization``: Celery's exception wrapper name, for code that imports it.

mrqc stores a task's exception as its module, class name and arguments, and
re-creates it on ``get()`` (``mrqc.utils.rebuild_exception``: the class if it
is loaded, else a class of the same name built on the fly). An exception whose
class does not rebuild from its arguments (its ``__init__`` takes others)
comes back as ``UnpickleableExceptionWrapper``, as in Celery: ``exc_module``,
``exc_cls_name``, ``exc_args``, and ``restore()``.
"""
from __future__ import annotations

from typing import Any

__all__ = ["UnpickleableExceptionWrapper", "get_pickleable_exception"]


class UnpickleableExceptionWrapper(Exception):
    """An exception described by its module, class name and arguments (Celery's shape)."""

    def __init__(self, exc_module: str, exc_cls_name: str, exc_args: Any, text: str | None = None) -> None:
        self.exc_module = exc_module
        self.exc_cls_name = exc_cls_name
        self.exc_args = tuple(exc_args)
        self.text = text
        super().__init__(exc_module, exc_cls_name, self.exc_args, text)

    def restore(self) -> BaseException:
        from . import rebuild_exception
        return rebuild_exception({"exc_module": self.exc_module, "exc_type": self.exc_cls_name,
                                  "exc_message": list(self.exc_args)})

    def __str__(self) -> str:
        return self.text or f"{self.exc_cls_name}{self.exc_args!r}"

    @classmethod
    def from_exception(cls, exc: BaseException) -> "UnpickleableExceptionWrapper":
        return cls(type(exc).__module__, type(exc).__name__, exc.args, str(exc))


def get_pickleable_exception(exc: BaseException) -> BaseException:
    """The exception itself (mrqc does not pickle exceptions)."""
    return exc
