"""Celery task priorities on mrqc queues, as Celery's Redis transport honours them.

Celery on Redis (kombu's Redis transport) keeps, per queue, one list per *priority step*
(``broker_transport_options["priority_steps"]``, default ``[0, 3, 6, 9]``) and serves the lower
step first: **a lower number is a higher priority**. A message's priority (0..9, larger values
count as 9) goes to the largest step not above it: 0-2 -> 0, 3-5 -> 3, 6-8 -> 6, 9 -> 9. A
message without a priority is priority 0, the most urgent.

mrqc does the same with the store's priority steps (``mrqcore.store.base.PRIORITY_FIELD``): step
0 is the queue's own list (every job without a priority: the fast path, unchanged), steps > 0
wait on their own lists, served after it, lower steps first.

Where the priority comes from, first found: ``apply_async(priority=...)`` (or the signature's
options), the task's ``priority`` attribute (``@app.task(priority=...)``), the calling task's
own priority when ``task_inherit_parent_priority`` is on, ``task_default_priority``.
``task_queue_max_priority`` is accepted and, as on Celery's Redis transport, has no effect (it
sets ``x-max-priority`` on AMQP queues).
"""
from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from .exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from .app import Celery
    from .task import Task

#: kombu's Redis transport: ``PRIORITY_STEPS`` and the range it clamps priorities to
DEFAULT_STEPS = (0, 3, 6, 9)
MIN_PRIORITY, MAX_PRIORITY = 0, 9

__all__ = ["DEFAULT_STEPS", "call_priority", "priority_steps", "step_for"]


def priority_steps(app: "Celery") -> tuple[int, ...]:
    """The app's steps (``broker_transport_options["priority_steps"]``), checked."""
    transport = app.conf.broker_transport_options or {}
    steps = transport.get("priority_steps", DEFAULT_STEPS) if hasattr(transport, "get") else DEFAULT_STEPS
    try:
        checked = tuple(int(s) for s in steps)
    except (TypeError, ValueError):
        checked = ()
    if not checked or list(checked) != sorted(set(checked)) or checked[0] != 0 or checked[-1] > 255 \
            or any(isinstance(s, bool) for s in steps):
        raise ImproperlyConfigured(
            f"broker_transport_options['priority_steps'] must be increasing whole numbers from 0 (at most 255), "
            f"as kombu's {list(DEFAULT_STEPS)}; got {steps!r}")
    return checked


def step_for(priority: Any, steps: tuple[int, ...] = DEFAULT_STEPS) -> int:
    """The step a Celery priority goes to (kombu's Redis rule: clamp to 0..9, then the largest step <= it)."""
    if priority is None:
        return 0
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ImproperlyConfigured(f"priority must be a whole number (0 is the most urgent on Redis), got {priority!r}")
    value = max(MIN_PRIORITY, min(MAX_PRIORITY, priority))
    return steps[bisect.bisect(steps, value) - 1]


def call_priority(app: "Celery", task: "Task | None", options: dict[str, Any]) -> int | None:
    """The Celery priority of one call (None: none given anywhere, which Celery treats as 0)."""
    priority = options.get("priority")
    if priority is None and task is not None:
        priority = getattr(task, "priority", None)
    if priority is None and app.conf.task_inherit_parent_priority:
        from . import _state
        current = _state.get_current_task()
        if current is not None and not current.request.called_directly:
            priority = (current.request.delivery_info or {}).get("priority")
    if priority is None:
        priority = app.conf.task_default_priority
    if priority is not None:
        step_for(priority)  # checks the value
    return priority
