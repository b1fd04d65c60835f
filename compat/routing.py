"""``task_routes``: which queue a task goes to.

Order (first match wins): ``queue=``/``routing_key=`` passed to the call,
``task_routes`` (in order), the task's own ``queue``, ``task_default_queue``.

``task_routes`` forms: a dict ``{name or glob pattern or re.Pattern: route}``,
a list/tuple of such dicts and of routers, a router callable
``router(name, args, kwargs, options, task=None, **kw)`` or the dotted path of
one. A route is a queue name or a dict with ``queue`` (or, as on Celery's Redis
transport, ``routing_key`` naming the queue).
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, Iterable

from .exceptions import ImproperlyConfigured, UnsupportedOption
from .utils import import_object


class MapRoute:
    """Routes by task name: exact names first, then glob patterns / regexps in order."""

    def __init__(self, mapping: dict[Any, Any]) -> None:
        self.exact: dict[str, Any] = {}
        self.patterns: list[tuple[re.Pattern[str], Any]] = []
        for key, route in mapping.items():
            if isinstance(key, re.Pattern):
                self.patterns.append((key, route))
            elif "*" in key or "?" in key:
                self.patterns.append((re.compile(fnmatch.translate(key)), route))
            else:
                self.exact[key] = route

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if name in self.exact:
            return self.exact[name]
        for pattern, route in self.patterns:
            if pattern.match(name):
                return route
        return None


def prepare(routes: Any) -> list[Callable[..., Any]]:
    """Turn the ``task_routes`` setting into a list of router callables."""
    if routes is None:
        return []
    if isinstance(routes, (dict,)) or hasattr(routes, "items"):
        return [MapRoute(dict(routes))]
    if isinstance(routes, str) or callable(routes):
        routes = [routes]
    if not isinstance(routes, (list, tuple)):
        raise ImproperlyConfigured(f"setting 'task_routes': expected a dict, list or router, got {routes!r}")
    out: list[Callable[..., Any]] = []
    for item in routes:
        if isinstance(item, str):
            item = import_object(item, "setting 'task_routes'")
            if isinstance(item, type):
                item = item()
        if hasattr(item, "items"):
            out.append(MapRoute(dict(item)))
        elif hasattr(item, "route_for_task"):
            out.append(item.route_for_task)
        elif callable(item):
            out.append(item)
        else:
            raise ImproperlyConfigured(f"setting 'task_routes': {item!r} is not a dict or a router")
    return out


def queue_of(route: Any, where: str) -> str | None:
    """The queue a route names, or None."""
    if route is None:
        return None
    if isinstance(route, str):
        return route
    if isinstance(route, dict):
        queue = route.get("queue")
        if queue is not None and not isinstance(queue, str):
            queue = getattr(queue, "name", None)
        if route.get("priority") is not None:
            raise UnsupportedOption(f"{where}: a priority in a route is not supported; set priority= on the "
                                        "task or the call (docs/celery-canvas.md, task priorities)")
        return queue or route.get("routing_key")
    name = getattr(route, "name", None)  # a kombu-like Queue object
    if isinstance(name, str):
        return name
    raise ImproperlyConfigured(f"{where}: cannot read a queue from route {route!r}")


def route(routers: Iterable[Callable[..., Any]], name: str, args: Any, kwargs: Any, options: dict[str, Any],
          task: Any = None) -> str | None:
    for router in routers:
        try:
            found = router(name, args, kwargs, options, task=task)
        except TypeError:
            found = router(name, args, kwargs, options)
        queue = queue_of(found, f"task_routes for {name!r}")
        if queue:
            return queue
    return None


def static_queues(routes: Any) -> list[str]:
    """Queues named in dict routes (so ``mrqc worker -A`` serves them)."""
    out: list[str] = []
    for router in prepare(routes):
        if isinstance(router, MapRoute):
            for value in list(router.exact.values()) + [r for _, r in router.patterns]:
                try:
                    queue = queue_of(value, "task_routes")
                except Exception:
                    queue = None
                if queue and queue not in out:
                    out.append(queue)
    return out
