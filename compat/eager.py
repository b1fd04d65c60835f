"""``Task.apply()`` and eager mode (``task_always_eager``): run here, return an ``EagerResult``.

As in Celery: the request has ``is_eager=True``; a ``retry()`` runs the task
again at once with ``retries + 1`` (countdowns are not waited); a failure is
re-raised when ``throw=True`` or ``task_eager_propagates`` is set, else the
EagerResult holds it. Nothing is written to Redis, time limits are not
enforced, and signals fire as in the worker.
"""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from . import _state, states
from .canvas import as_signature_dicts
from .result import EagerResult
from .task import Context
from .trace import EagerBackend, trace

if TYPE_CHECKING:
    from .task import Task

#: options that only matter to the worker path; ignored here
_WORKER_ONLY = {"park", "chain_next", "chord", "countdown", "eta", "expires", "queue", "routing_key",
                "priority", "serializer", "retry", "retry_policy", "add_to_parent", "shadow", "reply_to",
                "time_limit", "soft_time_limit", "exchange", "compression", "meta", "ignore_result"}


def apply_eagerly(task: "Task", args: Any = None, kwargs: Any = None, link: Any = None, link_error: Any = None,
                  task_id: str | None = None, retries: int | None = None, throw: bool | None = None,
                  headers: dict[str, Any] | None = None, **options: Any) -> EagerResult:
    app = task._get_app()
    task_id = task_id or str(uuid.uuid4())
    args, kwargs = tuple(args or ()), dict(kwargs or {})
    current = _state.get_current_task()
    parent = current.request if current is not None and not current.request.called_directly else None
    request = Context(
        id=task_id, args=args, kwargs=kwargs, retries=retries or 0, is_eager=True, called_directly=False,
        delivery_info={"is_eager": True, "exchange": "", "routing_key": None, "priority": None},
        hostname="eager", root_id=options.get("root_id") or (parent.root_id if parent else None) or task_id,
        parent_id=options.get("parent_id") or (parent.id if parent else None), group=options.get("group_id"),
        group_index=options.get("group_index"), callbacks=as_signature_dicts(link, app) or None,
        errbacks=as_signature_dicts(link_error, app) or None, headers=headers, task=task.name,
        correlation_id=task_id)
    for key, value in (headers or {}).items():
        if not hasattr(request, key):
            setattr(request, key, value)
    outcome = trace(task, request, EagerBackend())
    if outcome.state == states.RETRY and outcome.retry is not None:
        sig = outcome.retry.sig
        new_args = sig.args if sig is not None else args
        new_kwargs = sig.kwargs if sig is not None else kwargs
        return apply_eagerly(task, new_args, new_kwargs, link=link, link_error=link_error, task_id=task_id,
                             retries=request.retries + 1, throw=throw, headers=headers, **options)
    if throw is None:
        throw = bool(app.conf.task_eager_propagates)
    traceback = outcome.einfo.traceback if outcome.einfo is not None else None
    exc = None
    if outcome.state != states.SUCCESS:
        exc = outcome.exc
        if outcome.state == states.FAILURE and outcome.einfo is not None:
            exc = outcome.einfo.exception
        if throw and outcome.state == states.FAILURE and exc is not None:
            raise exc
    return EagerResult(task_id, outcome.retval, outcome.state, traceback=traceback, name=task.name, app=app,
                       exc=exc)
