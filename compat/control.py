"""The app's helpers: ``app.tasks`` (TaskRegistry), ``app.control`` (revoke only) and ``app.loader``.

There is no remote-control bus in mrqc: ``app.control.revoke`` acts on the
job record in Redis (and asks the running worker to kill a terminated job);
other remote-control calls raise ``UnsupportedOption``.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Iterable

from .exceptions import NotRegistered, UnsupportedOption
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


class Control:
    """``app.control``: only ``revoke`` and ``terminate`` (there is no remote-control bus)."""

    def __init__(self, app: "Celery") -> None:
        self.app = app

    def revoke(self, task_id: str | Iterable[str], destination: Any = None, terminate: bool = False,
               signal: Any = None, **kwargs: Any) -> None:
        ids = [task_id] if isinstance(task_id, str) else list(task_id)
        for one in ids:
            self.app.AsyncResult(one).revoke(terminate=terminate, signal=signal)

    def terminate(self, task_id: str | Iterable[str], destination: Any = None, signal: Any = None,
                  **kwargs: Any) -> None:
        self.revoke(task_id, destination=destination, terminate=True, signal=signal)

    def purge(self, connection: Any = None) -> int:
        """Remove every waiting job from the app's queues; returns how many were removed."""
        runtime = self.app.runtime
        total = 0
        for queue in self.app._worker_queues():
            total += runtime.store.purge_queue(queue)
        return total

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise UnsupportedOption(f"app.control.{name}() is not supported by mrqc (no remote-control bus); "
                                "use the mrqc CLI and dashboard to inspect workers")


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
