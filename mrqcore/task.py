"""Tasks: classes with ``run(self, params)``, found by their dotted path.

A task is declared by subclassing ``Task``::

    class Fetch(Task):
        queue = "io"          # optional per-task settings (see TASK_SETTINGS)
        max_retries = 5

        def run(self, params):
            return {"size": len(params["url"])}

Queue it as ``queue_job("myapp.tasks.Fetch", {"url": ...})``. A runtime's
``TaskLoader`` (``runtime.tasks``) finds the class for a path, in this order:

1. the runtime's own registry (``runtime.tasks.register(name, cls)``): tasks
   built at run time, under a name that is not an import path;
2. the task finders (``add_task_finder``): hooks of layers that own tasks
   elsewhere. The Celery layer installs one that finds each app's tasks in the
   app's own registry (``app.tasks``), so Celery task names resolve in every
   runtime of the process;
3. importing the dotted path.

There is no process-wide registry: registrations belong to one runtime.
Per-task settings come from class attributes, overridden by the config file's
``TASKS[path]``.
"""
from __future__ import annotations

import abc
import importlib
import threading
from typing import TYPE_CHECKING, Any, Callable

from .exceptions import NotATaskError, TaskError, TaskNotFoundError

if TYPE_CHECKING:
    from .config import Config
    from .runtime import Runtime


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


#: ``finder(name, runtime) -> Task subclass | None``: see ``add_task_finder``
TaskFinder = Callable[[str, "Runtime | None"], "type[Task] | None"]
_finders: list[TaskFinder] = []


def add_task_finder(finder: TaskFinder) -> None:
    """Consult ``finder(name, runtime)`` for names a runtime has not registered (before importing).

    For layers that keep their own tasks (the Celery layer: each app's
    ``app.tasks``). A finder returns a ``Task`` subclass or None, and must be
    cheap: its answer is cached per runtime.
    """
    if finder not in _finders:
        _finders.append(finder)


def remove_task_finder(finder: TaskFinder) -> None:
    if finder in _finders:
        _finders.remove(finder)


class TaskLoader:
    """Resolves task paths to classes for one runtime (registry, finders, import), with a cache."""

    def __init__(self, config: "Config", task_registry: TaskRegistry | None = None,
                 runtime: "Runtime | None" = None) -> None:
        self.config = config
        self.registry = task_registry if task_registry is not None else TaskRegistry()
        self.runtime = runtime
        self._cache: dict[str, type[Task]] = {}
        self._settings: dict[tuple[str, type[Task] | None], dict[str, Any]] = {}

    def register(self, name: str, task_class: type[Task]) -> None:
        """Register ``task_class`` under ``name`` in this runtime (replaces what ``name`` resolved to)."""
        self.registry.register(name, task_class)
        self._forget(name)

    def unregister(self, name: str) -> None:
        self.registry.unregister(name)
        self._forget(name)

    def load(self, path: str) -> type[Task]:
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        task_class = self.registry.get(path) or self._find(path) or import_task(path)
        self._cache[path] = task_class
        return task_class

    def _find(self, path: str) -> type[Task] | None:
        for finder in list(_finders):
            found = finder(path, self.runtime)
            if found is not None:
                if not (isinstance(found, type) and issubclass(found, Task)):
                    raise NotATaskError(f"task finder {finder!r} returned {found!r} for {path!r}, "
                                        "not a Task subclass")
                return found
        return None

    def forget(self, name: str) -> None:
        """Drop what is cached about task ``name`` (its class, its settings): call it after a task's
        settings changed at run time (remote ``time_limit``), so the next job reads them again."""
        self._forget(name)

    def _forget(self, name: str) -> None:
        self._cache.pop(name, None)
        for key in [k for k in list(self._settings) if k[0] == name]:
            self._settings.pop(key, None)

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
    except (Exception, SystemExit) as exc:
        # SystemExit too: a module named in job data (``unittest.__main__``) must fail
        # that job, never end the worker.
        raise TaskError(f"task {path!r}: importing {module_name!r} raised "
                        f"{type(exc).__name__}: {exc}") from exc
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise TaskNotFoundError(f"task {path!r}: module {module_name!r} has no attribute {attr!r}") from None
    if not (isinstance(obj, type) and issubclass(obj, Task)):
        raise NotATaskError(f"task {path!r} is a {type(obj).__name__}, not a subclass of mrqcore.task.Task")
    return obj


def __getattr__(name: str) -> Any:
    if name == "registry":  # the process-wide registry is gone: say where registrations live now
        raise AttributeError("mrqcore.task.registry no longer exists: tasks are registered on a runtime "
                             "(runtime.tasks.register(name, cls)); see mrqcore.task's docstring")
    raise AttributeError(f"module 'mrqcore.task' has no attribute {name!r}")
