"""Tasks: classes with ``run(self, params)``, found by their dotted path.

A task is declared by subclassing ``Task``::

    class Fetch(Task):
        queue = "io"          # optional per-task settings (see TASK_SETTINGS)
        max_retries = 5

        def run(self, params):
            return {"size": len(params["url"])}

Queue it as ``queue_job("myapp.tasks.Fetch", {"url": ...})``. The worker finds
the class by importing the path, or in the task registry, where code that
builds tasks at run time (the Celery layer) registers them under a name.
Per-task settings come from class attributes, overridden by the config file's
``TASKS[path]``.
"""
from __future__ import annotations

import abc
import importlib
import threading
from typing import TYPE_CHECKING, Any

from .exceptions import NotATaskError, TaskError, TaskNotFoundError

if TYPE_CHECKING:
    from .config import Config


class Task(abc.ABC):
    """Base class of every task. Subclasses implement ``run``.

    ``is_main_task`` is True when this instance is the job's own task, False
    when it runs as a sub-task through ``run_task``.
    """

    #: per-task settings; None means "use the configured default"
    queue: str | None = None
    timeout: float | None = None
    result_ttl: int | None = None
    max_retries: int | None = None
    retry_delay: float | None = None
    max_concurrency: int | None = None

    def __init__(self) -> None:
        self.is_main_task = False

    @abc.abstractmethod
    def run(self, params: dict[str, Any]) -> Any:
        """Do the work. ``params`` is always a dict; the return value is stored as the result."""


class TaskRegistry:
    """Tasks registered by name, consulted before importing a path."""

    def __init__(self) -> None:
        self._tasks: dict[str, type[Task]] = {}
        self._lock = threading.Lock()

    def register(self, name: str, task_class: type[Task]) -> None:
        if not (isinstance(task_class, type) and issubclass(task_class, Task)):
            raise NotATaskError(f"cannot register {name!r}: {task_class!r} is not a Task subclass")
        with self._lock:
            self._tasks[name] = task_class

    def unregister(self, name: str) -> None:
        with self._lock:
            self._tasks.pop(name, None)

    def get(self, name: str) -> type[Task] | None:
        return self._tasks.get(name)

    def names(self) -> list[str]:
        return sorted(self._tasks)


#: the process-wide registry; the Celery layer registers its tasks here
registry = TaskRegistry()


class TaskLoader:
    """Resolves task paths to classes (registry first, then import), with a cache."""

    def __init__(self, config: "Config", task_registry: TaskRegistry | None = None) -> None:
        self.config = config
        self.registry = task_registry or registry
        self._cache: dict[str, type[Task]] = {}
        self._settings: dict[tuple[str, type[Task] | None], dict[str, Any]] = {}

    def load(self, path: str) -> type[Task]:
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        task_class = self.registry.get(path) or import_task(path)
        self._cache[path] = task_class
        return task_class

    def settings(self, path: str, task_class: type[Task] | None = None) -> dict[str, Any]:
        """Effective settings of a task: defaults < class attributes < config TASKS.

        Cached per task (the config does not change): this runs for every job.
        The returned dict is shared; do not modify it.
        """
        cached = self._settings.get((path, task_class))
        if cached is not None:
            return cached
        resolved = task_class
        if resolved is None:
            try:
                resolved = self.load(path)
            except TaskError:
                resolved = None
        settings = self.config.task_settings(path, resolved)
        self._settings[(path, task_class)] = settings
        return settings


def import_task(path: str) -> type[Task]:
    """Import ``package.module.ClassName``; errors say exactly which part failed."""
    if not isinstance(path, str) or "." not in path:
        raise TaskNotFoundError(f"task path {path!r} is not of the form 'module.TaskClass' "
                                "and no task is registered under that name")
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise TaskNotFoundError(f"task {path!r}: no module named {exc.name!r}") from exc
        raise TaskError(f"task {path!r}: importing {module_name!r} failed: {exc}") from exc
    except Exception as exc:
        raise TaskError(f"task {path!r}: importing {module_name!r} raised "
                        f"{type(exc).__name__}: {exc}") from exc
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise TaskNotFoundError(f"task {path!r}: module {module_name!r} has no attribute {attr!r}") from None
    if not (isinstance(obj, type) and issubclass(obj, Task)):
        raise NotATaskError(f"task {path!r} is a {type(obj).__name__}, not a subclass of mrqcore.task.Task")
    return obj
