"""mrqc: a Celery-compatible API on MRQ's job semantics (``mrqcore``).

Change ``celery`` to ``mrqc`` in your imports::

    from mrqc import Celery, shared_task, chain, group, chord
    from mrqc.exceptions import SoftTimeLimitExceeded
    from mrqc.signals import task_failure

and run ``mrqc worker -A proj``. What differs from Celery, and why, is in
docs/celery-compat.md.
"""
from __future__ import annotations

from . import exceptions, signals, states
from ._state import current_app, current_task
from .app import Celery
from .shared import shared_task
from .canvas import Signature, chain, chord, chunks, group, maybe_signature, signature, subtask, xmap, xstarmap
from .result import AsyncResult, EagerResult, GroupResult, ResultSet
from .task import Task

__version__ = "0.1.0"

__all__ = ["Celery", "shared_task", "Task", "Signature", "signature", "subtask", "maybe_signature", "chain",
           "group", "chord", "chunks", "xmap", "xstarmap", "states", "signals", "exceptions", "AsyncResult",
           "GroupResult", "EagerResult", "ResultSet", "current_app", "current_task", "uuid"]


#: submodules reachable as attributes after ``import mrqc`` (``mrqc.canvas.signature``...), as Celery's are
_LAZY_SUBMODULES = frozenset({"app", "backends", "canvas", "contrib", "result", "schedules", "task", "utils",
                              "worker", "beat", "bridge", "stamping"})


def __getattr__(name: str) -> object:
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mrqc' has no attribute {name!r}")


def uuid() -> str:
    """A new task id (Celery exports ``celery.uuid``)."""
    import uuid as _uuid
    return str(_uuid.uuid4())
