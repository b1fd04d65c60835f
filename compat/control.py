"""The app's helpers: ``app.tasks`` (TaskRegistry), ``app.control`` and ``app.loader``.

``app.control`` (``Control``, with ``inspect()``) is Celery's remote control over
mrqc's store: it lives in ``mrqc.control_remote`` and is re-exported here.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .control_remote import Control, Inspect  # noqa: F401 - app.control's classes
from .exceptions import NotRegistered
from .task import Task

if TYPE_CHECKING:
    from .app import Celery


class TaskRegistry(dict):
    """``app.tasks``: name -> task; a missing name raises ``NotRegistered`` (a KeyError)."""

    def __missing__(self, key: str) -> Task:
        raise NotRegistered(key)

    def register(self, task: Task) -> None:
        self[task.name] = task

    def unregister(self, name: str | Task) -> None:
        name = name.name if isinstance(name, Task) else name
        try:
            self.pop(name)
        except KeyError:
            raise NotRegistered(name) from None

    def regular(self) -> dict[str, Task]:
        return dict(self)

    def periodic(self) -> dict[str, Task]:
        return {}


class Loader:
    """``app.loader``: just enough of Celery's loader for projects that call it."""

    def __init__(self, app: "Celery") -> None:
        self.app = app

    def import_default_modules(self) -> list[Any]:
        return self.app._import_task_modules()

    def import_task_module(self, module: str) -> Any:
        return importlib.import_module(module)

    def on_worker_init(self) -> None:
        self.import_default_modules()
