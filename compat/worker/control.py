"""``mrqc.worker.control``: Celery's remote-control command decorators, accepted but not served.

mrqc's workers answer Celery's built-in remote-control commands
(docs/remote-control.md), not custom ones: a module that defines its own
commands with ``@control_command``/``@inspect_command`` still imports and
keeps the functions (listed in ``controller``), but no worker answers them. ``add_consumer``/``cancel_consumer`` (queue changes by remote
control) raise ``UnsupportedOption``: start a worker on the queues instead
(``mrqc worker QUEUE...``).
"""
from __future__ import annotations

from typing import Any, Callable

from ..exceptions import UnsupportedOption

__all__ = ["control_command", "inspect_command", "controller", "add_consumer", "cancel_consumer"]

#: name -> function of every command declared (kept for introspection; no worker serves them)
controller: dict[str, Callable[..., Any]] = {}


def _declare(kind: str, name: str | None = None, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fun: Callable[..., Any]) -> Callable[..., Any]:
        controller[name or fun.__name__] = fun
        fun.control_kind = kind  # type: ignore[attr-defined]
        return fun
    return register


def control_command(name: str | None = None, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@control_command(...)``: keeps the function; mrqc workers do not serve remote control."""
    return _declare("control", name, **options)


def inspect_command(name: str | None = None, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@inspect_command(...)``: keeps the function; mrqc workers do not serve remote control."""
    return _declare("inspect", name, **options)


def add_consumer(state: Any, queue: str, *args: Any, **kwargs: Any) -> Any:
    raise UnsupportedOption(f"add_consumer({queue!r}): mrqc workers take no queue changes by remote control; "
                            f"start a worker on the queue instead (mrqc worker {queue})")


def cancel_consumer(state: Any, queue: str, **kwargs: Any) -> Any:
    raise UnsupportedOption(f"cancel_consumer({queue!r}): mrqc workers take no queue changes by remote control; "
                            "stop the worker serving it instead")
