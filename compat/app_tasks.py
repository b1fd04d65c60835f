"""How a ``Celery`` app makes and names its tasks: ``@app.task``, ``app.register_task``,
``app.Task``, ``gen_task_name`` and ``task_annotations`` (the ``TaskFactory`` mixin).

``Celery`` (``mrqc.app``) inherits these methods; they are here to keep that
module small, and read the app's ``conf``, ``tasks`` and ``main``. Registering
a made task with the app (and with mrqcore) is ``Celery._register``.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Callable

from .exceptions import ImproperlyConfigured, UnsupportedOption
from .task import Task, check_task_options, task_from_function

if TYPE_CHECKING:
    from .control import TaskRegistry
    from .settings import Settings


class TaskFactory:
    """Task creation for ``Celery`` (a mixin: the attributes below are the app's)."""

    main: str | None
    conf: "Settings"
    tasks: "TaskRegistry"
    _task_base: type[Task]
    _task_cls: type[Task] | None

    if TYPE_CHECKING:
        def _register(self, task: Task) -> None: ...  # Celery's: registers with the app and mrqcore

    @property
    def Task(self) -> type[Task]:  # noqa: N802 - Celery's name
        """The base class of this app's tasks (``class MyTask(app.Task)``)."""
        if self._task_cls is None:
            self._task_cls = type("Task", (self._task_base,), {"app": self, "__module__": self._task_base.__module__,
                                                                "abstract": True})
        return self._task_cls

    def task(self, *args: Any, **opts: Any) -> Any:
        """``@app.task``, ``@app.task(**options)`` or ``app.task(fun, **options)``."""
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], Task):
            return self._task_from_fun(args[0], **opts)
        if args:
            raise TypeError("@app.task() takes keyword options only, e.g. @app.task(bind=True)")

        def decorator(fun: Callable[..., Any]) -> Task:
            return self._task_from_fun(fun, **opts)
        return decorator

    def _task_from_fun(self, fun: Callable[..., Any], name: str | None = None, base: Any = None,
                       bind: bool = False, shared: bool = True, filter: Any = None, **options: Any) -> Task:
        if filter is not None:
            raise UnsupportedOption(f"task {fun.__name__!r}: option filter= is not supported by mrqc")
        name = name or self.gen_task_name(fun.__name__, fun.__module__)
        if name in self.tasks and getattr(self.tasks[name], "__wrapped__", None) is not None \
                and getattr(type(self.tasks[name]), "_mrqc_source", None) is fun:
            return self.tasks[name]
        task = task_from_function(self, fun, name=name, base=base, bind=bind, **options)
        type(task)._mrqc_source = fun  # type: ignore[attr-defined]
        self._register(task)
        return task

    def register_task(self, task: Task | type[Task], **options: Any) -> Task:
        """Register a class-based task (an instance, or a class that is instantiated)."""
        if isinstance(task, type):
            task = task()
        if not isinstance(task, Task):
            raise ImproperlyConfigured(f"register_task: {task!r} is not a mrqc Task")
        if options:
            check_task_options(options, f"register_task({type(task).__name__})")
            for key, value in options.items():
                setattr(task, key, value)
        check_task_options({k: getattr(type(task), k) for k in ("priority", "serializer", "compression",
                                                                "exchange", "Request", "Strategy")
                            if k in vars(type(task))}, f"task class {type(task).__name__}")
        if not task.name:
            task.name = self.gen_task_name(type(task).__name__, type(task).__module__)
        if task.app is None or task.app is not self:
            task.app = self
        from .task import RequestStack
        task.request_stack = RequestStack(task.name)
        self._register(task)
        return task


    def gen_task_name(self, name: str, module: str | None) -> str:
        module = module or "__main__"
        mod = sys.modules.get(module)
        if mod is not None:
            module = mod.__name__
        if module == "__main__" and self.main:
            return f"{self.main}.{name}"
        return ".".join(p for p in (module, name) if p)

    def _annotate(self, task: Task) -> None:
        annotations = self.conf.peek("task_annotations")
        if not annotations:
            return
        for mapping in annotations if isinstance(annotations, (list, tuple)) else [annotations]:
            if not hasattr(mapping, "get"):
                raise UnsupportedOption("setting 'task_annotations': only dict entries are supported, "
                                        f"got {mapping!r}")
            for key in ("*", task.name):
                for option, value in dict(mapping.get(key) or {}).items():
                    if option.startswith("on_") or option in ("after_return", "before_start"):
                        setattr(task, option, value)
                        continue
                    check_task_options({option: value}, f"task_annotations[{key!r}]")
                    setattr(task, option, value)


__all__ = ["TaskFactory"]
