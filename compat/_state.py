"""Process state Celery exposes as ``current_app`` and ``current_task``.

The current app is the last ``Celery(...)`` created (or the one made current
with ``app.set_current()``); if none exists, a default app named
``"default"`` is created on first use, as Celery does. The current task is
kept per greenlet (a ``ContextVar``), so concurrent jobs never see each other's.

The current app also decides which runtime ``mrqcore.queue_job`` uses when no
runtime is explicit: its own, if it has one (see ``mrqc.bridge``).
"""
from __future__ import annotations

import contextvars
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .app import Celery
    from .task import Task

_current_app: "Celery | None" = None
_default_app: "Celery | None" = None
_lock = threading.RLock()
_apps: "weakref.WeakSet[Celery]" = weakref.WeakSet()
_task_stack: contextvars.ContextVar[tuple["Task", ...]] = contextvars.ContextVar("mrqc_task_stack", default=())

#: callables run on every app, existing and future (shared_task uses this)
_on_app_finalizers: list[Callable[["Celery"], Any]] = []


def get_current_app() -> "Celery":
    global _default_app
    if _current_app is not None:
        return _current_app
    with _lock:
        if _current_app is not None:
            return _current_app
        if _default_app is None:
            from .app import Celery
            _default_app = Celery("default", set_as_current=False)
        return _default_app


def peek_current_app() -> "Celery | None":
    """The current app if one was set (created or ``set_current()``), else None; never creates one."""
    return _current_app


def set_current_app(app: "Celery") -> None:
    global _current_app
    _current_app = app


def register_app(app: "Celery") -> None:
    _apps.add(app)


def all_apps() -> list["Celery"]:
    return list(_apps)


def connect_on_app_finalize(callback: Callable[["Celery"], Any]) -> Callable[["Celery"], Any]:
    """Run ``callback(app)`` for every app that exists now and for each one created later."""
    _on_app_finalizers.append(callback)
    for app in all_apps():
        callback(app)
    return callback


def get_current_task() -> "Task | None":
    stack = _task_stack.get()
    return stack[-1] if stack else None


def push_task(task: "Task") -> contextvars.Token:
    return _task_stack.set(_task_stack.get() + (task,))


def pop_task(token: contextvars.Token) -> None:
    _task_stack.reset(token)


class _Proxy:
    """A lazy stand-in for an object found by a function call each time it is used."""

    __slots__ = ("_mrqc_get",)

    def __init__(self, get: Callable[[], Any]) -> None:
        object.__setattr__(self, "_mrqc_get", get)

    def _get_current_object(self) -> Any:
        return self._mrqc_get()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mrqc_get(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._mrqc_get(), name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._mrqc_get()(*args, **kwargs)

    def __bool__(self) -> bool:
        return bool(self._mrqc_get())

    def __eq__(self, other: Any) -> bool:
        return self._mrqc_get() == other

    def __hash__(self) -> int:
        return hash(self._mrqc_get())

    def __repr__(self) -> str:
        return repr(self._mrqc_get())

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() sees the real object's class
        return type(self._mrqc_get())


current_app: Any = _Proxy(get_current_app)
current_task: Any = _Proxy(get_current_task)
