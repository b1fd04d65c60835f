"""``shared_task`` (a task on every app) and Django app discovery for ``autodiscover_tasks``."""
from __future__ import annotations

from typing import Any, Callable

from . import _state
from .task import check_task_options


def django_apps() -> list[str]:
    try:
        from django.apps import apps  # type: ignore[import-not-found]
        from django.conf import settings  # type: ignore[import-not-found]
    except ImportError:
        return []
    if not settings.configured:
        return []
    try:
        return [config.name for config in apps.get_app_configs()]
    except Exception:  # apps not loaded yet: fall back to the setting
        return list(getattr(settings, "INSTALLED_APPS", []))


def shared_task(*args: Any, **kwargs: Any) -> Any:
    """A task registered on every app (those existing and those created later).

    Returns a proxy that resolves to the current app's task at each use.
    """
    def create(fun: Callable[..., Any]) -> Any:
        name = kwargs.get("name")
        check_task_options({k: v for k, v in kwargs.items() if k not in ("bind", "base", "name", "shared")},
                           f"shared_task {fun.__name__!r}")
        holder: dict[str, str] = {}

        def on_app(app: Any) -> None:
            task = app._task_from_fun(fun, **kwargs)
            holder["name"] = task.name

        _state.connect_on_app_finalize(on_app)
        if "name" not in holder:  # no app yet: the default one gets it
            on_app(_state.get_current_app())
        task_name = name or holder["name"]
        return _state._Proxy(lambda: _state.get_current_app().tasks[task_name])

    if len(args) == 1 and callable(args[0]):
        return create(args[0])
    return create
