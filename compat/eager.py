"""``Task.apply()`` and eager mode (``task_always_eager``): run here, return an ``EagerResult``.

As in Celery: the request has ``is_eager=True``; a ``retry()`` runs the task
again at once with ``retries + 1`` (countdowns are not waited); a failure is
re-raised when ``throw=True`` or ``task_eager_propagates`` is set, else the
EagerResult holds it. Time limits are not enforced, and signals fire as in
the worker.

Where eager results go (``eager_store``):

* an app whose ``broker_url`` is ``memory://`` (or ``memory://name``) owns a
  runtime on ``mrqcore.store.memory.MemoryJobStore`` (``memory_runtime``;
  ``app.runtime`` returns it): each eager result is recorded there as the
  worker would record it, so ``AsyncResult(id).get()``, ``GroupResult.save()``
  / ``restore()`` work for eager ids, in this process only;
* with ``task_store_eager_result`` (Celery's setting) the result is recorded
  in the app's own store, whatever it is;
* otherwise nothing is stored, as in Celery.
"""
from __future__ import annotations

import time
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from mrqcore import serialization
from mrqcore.store.base import Finish, JobStore

from . import _state, states
from .canvas import as_signature_dicts
from .result import EagerResult
from .task import Context
from .trace import EagerBackend, Outcome, trace
from .utils import exception_record

if TYPE_CHECKING:
    from mrqcore.runtime import Runtime

    from .app import Celery
    from .task import Task

#: worker id under which eager results are recorded
EAGER_WORKER = "eager"
#: Celery state -> the mrqcore status an eager result is recorded with (others are not recorded)
_STATUS_OF = {states.SUCCESS: "success", states.FAILURE: "failed", states.REVOKED: "cancel"}
#: app -> (broker URL, the runtime on its memory store)
_memory_runtimes: "weakref.WeakKeyDictionary[Any, tuple[str, Runtime]]" = weakref.WeakKeyDictionary()

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
    store = eager_store(app)
    if store is not None:
        record_eager_result(store, task, request, outcome, app)
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


def memory_runtime(app: "Celery") -> "Runtime | None":
    """The runtime on the app's memory store when its ``broker_url`` is ``memory://...``, else None.

    Built once per app and URL (``memory://`` alone: a store of the app's own;
    ``memory://name``: the store every runtime on that name shares in this
    process), from the usual mrqc config sources with ``redis`` = the URL.
    """
    url = app.conf.broker_url
    if not isinstance(url, str) or not url.startswith("memory://"):
        return None
    cached = _memory_runtimes.get(app)
    if cached is not None and cached[0] == url:
        return cached[1]
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime

    from .bridge import runtime_settings
    runtime = Runtime(Config.load(overrides=dict(runtime_settings(app), redis=url)))
    _memory_runtimes[app] = (url, runtime)
    return runtime


def eager_store(app: "Celery") -> JobStore | None:
    """Where eager results of ``app`` are recorded (see the module docstring), or None."""
    runtime = memory_runtime(app)
    if runtime is not None:
        return runtime.store
    if app.conf.task_store_eager_result:
        return app.runtime.store
    return None


def record_eager_result(store: JobStore, task: "Task", request: Context, outcome: Outcome,
                        app: "Celery") -> None:
    """Record an eager run's outcome as a finished job (the fields a worker writes), notifying waiters.

    Only final outcomes are recorded (success, failure, revoked); the record
    expires after ``result_expires`` when that is set.
    """
    status = _STATUS_OF.get(outcome.state)
    if status is None:
        return
    now = repr(time.time())
    fields = {"path": task.name, "queue": "", "status": status, "worker": EAGER_WORKER, "retry_count":
              str(request.retries or 0), "datequeued": now, "datestarted": now, "dateupdated": now,
              "datedone": now}
    try:  # eager arguments never had to be JSON: keep them only when they are
        fields["params"] = serialization.dumps_checked({"args": list(request.args or ()),
                                                        "kwargs": dict(request.kwargs or {})}, "params").decode()
    except Exception:  # noqa: BLE001 - the result is still recorded, without its arguments
        pass
    if status == "success":
        fields["result"] = serialization.dumps(outcome.retval).decode()
    else:
        exc = outcome.einfo.exception if outcome.einfo is not None else outcome.exc
        if exc is not None:
            cls = type(exc)
            fields["exceptiontype"] = cls.__name__ if cls.__module__ == "builtins" else \
                f"{cls.__module__}.{cls.__name__}"
            fields["exc_info"] = serialization.dumps(exception_record(exc)).decode()
        if outcome.einfo is not None and outcome.einfo.traceback:
            fields["traceback"] = outcome.einfo.traceback
    if request.children:
        fields["children"] = serialization.dumps(list(request.children)).decode()
    expires = app.conf.seconds("result_expires")
    store.finish(EAGER_WORKER, [Finish(request.id, status, fields, int(expires or 0))])
