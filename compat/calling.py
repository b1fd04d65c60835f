"""Publishing: ``apply_async``/``send_task`` -> ``mrqcore.job.queue_job``.

A Celery call becomes one mrqcore job:

* ``path`` = the task name, ``params`` = ``{"args": [...], "kwargs": {...}}``;
* ``job_id`` = the Celery task id (``task_id=`` or a new UUID4);
* ``countdown``/``eta`` = mrqcore ``delay``: the job waits in Redis's
  scheduled set, never in a worker's memory, so an ETA is neither lost when a
  worker dies nor run twice;
* the request metadata goes in the record's ``meta`` field (JSON), keys:

| key | meaning |
|---|---|
| ``task`` | the task name (``shadow`` if given) |
| ``root_id``, ``parent_id`` | the workflow ids (set from the calling task when called inside one) |
| ``eta``, ``expires`` | epoch seconds (a job that starts after ``expires`` ends REVOKED without running) |
| ``headers`` | custom headers (``apply_async(headers=...)`` and what ``before_task_publish`` receivers add) |
| ``timelimit`` | ``[hard, soft]`` per-call time limits |
| ``link``, ``link_error`` | callback / errback signatures (dicts) |
| ``group_id``, ``group_index`` | group membership |
| ``chord`` | ``{"id", "index", "size", "body_id"}`` for a chord header task |
| ``chain_next`` | what to start when this job succeeds (see ``mrqc.canvas``) |
| ``ignore_result``, ``reply_to``, ``retries_offset`` | as in Celery |
| ``priority`` | the call's Celery priority (its step, in the record's ``priority`` field, is where it waits: ``mrqc.priority``) |
| ``argsrepr``, ``kwargsrepr`` | as in Celery (the task reads them on ``self.request``) |
| ``stamped_headers``, ``stamps``, ``replaced_task_nesting`` | stamping and ``replace()`` nesting, as in Celery |
| ``properties`` | message properties given to the call (``app_id``...), read in ``self.request.properties`` |

Unknown call options are a ``TypeError`` naming them; options mrqc cannot
honour (other serializers, compression, exchanges) raise ``UnsupportedOption``.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mrqcore.job import JobRequest, queue_job, queue_requests
from mrqcore.store.base import HOLD_DUE

from . import _state, signals
from .exceptions import ImproperlyConfigured
from .utils import check_options, expires_at, to_timestamp

if TYPE_CHECKING:
    from .app import Celery
    from .result import AsyncResult
    from .task import Task

#: options accepted by apply_async/send_task (no effect noted in docs/celery-compat.md)
CALL_OPTIONS = frozenset({
    "countdown", "eta", "expires", "queue", "routing_key", "exchange", "priority", "task_id", "link",
    "link_error", "headers", "time_limit", "soft_time_limit", "ignore_result", "retry", "retry_policy",
    "serializer", "compression", "shadow", "add_to_parent", "group_id", "group_index", "root_id",
    "parent_id", "reply_to", "result_cls", "by_name", "task", "chord", "chain_next", "park", "declare",
    "delivery_mode", "mandatory", "immediate", "content_type", "content_encoding", "retries",
    "exchange_type", "stamped_headers", "stamps", "replaced_task_nesting", "meta", "argsrepr", "kwargsrepr",
    *("app_id", "user_id", "message_id", "type", "timestamp", "expiration"),  # message properties (MESSAGE_PROPERTIES)
})

#: AMQP message properties a call may set; the task reads them in ``self.request.properties``
MESSAGE_PROPERTIES = ("app_id", "user_id", "message_id", "type", "timestamp", "expiration")

_UNSUPPORTED_VALUES: dict[str, tuple[tuple[Any, ...], str]] = {
    "serializer": ((None, "json"), "only JSON is supported"),
    "compression": ((None,), "compression is not supported"),
    "exchange": ((None, ""), "there are no exchanges; use queue="),
    "exchange_type": ((None,), "there are no exchanges"),
    "content_type": ((None, "application/json"), "only JSON is supported"),
}


def check_call_options(options: dict[str, Any], name: str) -> None:
    """TypeError for an unknown apply_async option (as Python would), UnsupportedOption for a refused value."""
    check_options(options, CALL_OPTIONS, _UNSUPPORTED_VALUES, f"{name}.apply_async()", "option", TypeError)


@dataclass
class PreparedCall:
    """One call, checked and turned into what is recorded: the job (``record``) or a Celery message (the wire)."""

    name: str
    task_id: str
    params: dict[str, Any]
    queue: str
    delay: float | None
    meta: dict[str, Any]
    args: list[Any]
    kwargs: dict[str, Any]
    options: dict[str, Any]
    #: the queue's priority step the job waits on (0: the queue's own list; ``mrqc.priority``)
    priority_step: int = 0


def prepare(app: "Celery", name: str, args: Any = None, kwargs: Any = None, *, task_id: str | None = None,
            task: "Task | None" = None, by_name: bool = False, **options: Any) -> PreparedCall:
    """Check a call and build its record (params, queue, delay, meta); writes nothing.

    ``send`` uses it, and so does the Celery wire's consumer (``mrqc.adapters``)
    for each message it turns into a job, so both write the same records."""
    options = {k: v for k, v in options.items() if v is not None}
    _collect_stamps(options)
    check_call_options(options, name)
    app._ensure_configured()
    if task is None:
        task = app.tasks.get(name)
    args = list(args or ())
    if not isinstance(kwargs or {}, dict):
        raise TypeError(f"{name}: kwargs must be a dict, got {kwargs!r}")
    kwargs = dict(kwargs or {})
    if task is not None and getattr(task, "pydantic", False):
        from .task_pydantic import dump_models
        args, kwargs = dump_models(args, kwargs)
    _check_time_limits(name, task, options)
    task_id = task_id or str(uuid.uuid4())
    native = by_name and task is None and _is_native_task(app.runtime, name)
    if native:
        if args:
            raise TypeError(f"send_task({name!r}): {name} is an mrqcore Task, which takes one params dict; "
                            "pass kwargs=... (they become its params), not args")
        params: dict[str, Any] = kwargs
        queue = options.get("queue") or options.get("routing_key")
    else:
        params = {"args": args, "kwargs": kwargs}
        queue = app.queue_for(name, args, kwargs, options, task)
    now = time.time()
    meta = _meta(app, name, task_id, task, options, now)
    delay = None
    if options.get("park"):
        delay = HOLD_DUE - now
    elif options.get("countdown") is not None:
        delay = float(options["countdown"])
    elif options.get("eta") is not None:
        delay = to_timestamp(options["eta"], "eta") - now  # type: ignore[operator]
    from .priority import call_priority, priority_steps, step_for
    priority = call_priority(app, task, options)
    step = 0
    if priority is not None:
        meta["priority"] = priority
        step = step_for(priority, priority_steps(app))
    return PreparedCall(name, task_id, params, queue, delay if delay and delay > 0 else None, meta, args, kwargs,
                        options, step)


def _collect_stamps(options: dict[str, Any]) -> None:
    """Move the stamps a ``sig.stamp(visitor)`` left as options (one per ``stamped_headers`` name) into
    ``options["stamps"]``, as Celery sends them in the ``stamps`` header."""
    stamped = options.get("stamped_headers")
    if not stamped:
        return
    stamps = dict(options.get("stamps") or {})
    for key in stamped:
        if key in options and key not in CALL_OPTIONS:
            stamps[key] = options.pop(key)
        elif key not in stamps and key in options:
            stamps[key] = options[key]
    options["stamped_headers"] = list(stamped)
    options["stamps"] = stamps


def _check_time_limits(name: str, task: "Task | None", options: dict[str, Any]) -> None:
    """ValueError, as Celery raises at the call, when the soft limit is past the hard one."""
    hard = options.get("time_limit", getattr(task, "time_limit", None))
    soft = options.get("soft_time_limit", getattr(task, "soft_time_limit", None))
    if hard is not None and soft is not None and float(soft) > float(hard):
        raise ValueError(f"{name}: soft_time_limit must be less than or equal to time_limit "
                         f"(soft_time_limit={soft}, time_limit={hard})")


def record(app: "Celery", call: PreparedCall) -> None:
    """Write a prepared call as its job (idempotent: a live job with the same id is not queued twice)."""
    queue_job(call.name, call.params, call.queue, job_id=call.task_id, delay=call.delay, extra=call.meta,
              priority=call.priority_step, runtime=app.runtime)


def record_many(app: "Celery", calls: list[PreparedCall]) -> None:
    """``record`` for many calls, in one atomic store round trip (the Celery wire's consumer batches)."""
    queue_requests([JobRequest(c.name, c.params, c.queue, c.task_id, c.delay, c.meta, c.priority_step)
                    for c in calls],
                   runtime=app.runtime)


def send(app: "Celery", name: str, args: Any = None, kwargs: Any = None, *, task_id: str | None = None,
         task: "Task | None" = None, by_name: bool = False, result_cls: Any = None,
         **options: Any) -> "AsyncResult":
    """Queue one call; returns its AsyncResult. ``park=True`` creates it parked (see ``mrqc.keys``).

    With ``celery_wire`` on, the call is published as a Celery protocol 2
    message instead (``mrqc.bridge.wire_publisher``: the one wire seam)."""
    call = prepare(app, name, args, kwargs, task_id=task_id, task=task, by_name=by_name, **options)
    meta, queue = call.meta, call.queue
    headers = _protocol_headers(name, call.task_id, meta, call.args, call.kwargs)
    body = (tuple(call.args), call.kwargs, {"callbacks": meta.get("link"), "errbacks": meta.get("link_error"),
                                            "chain": None, "chord": meta.get("chord")})
    signals.before_task_publish.send(sender=name, body=body, exchange="", routing_key=queue, headers=headers,
                                     properties={"correlation_id": call.task_id, "reply_to": meta.get("reply_to")},
                                     declare=[], retry_policy=call.options.get("retry_policy"))
    custom = {k: v for k, v in headers.items() if k not in _STANDARD_HEADERS}
    if custom:
        meta["headers"] = custom
    from .bridge import wire_publisher
    publisher = wire_publisher(app)
    if publisher is not None:
        publisher.publish(call, headers)
    else:
        record(app, call)
    signals.after_task_publish.send(sender=name, body=body, exchange="", routing_key=queue, headers=headers)
    from .result import AsyncResult
    cls = result_cls or AsyncResult
    result = cls(call.task_id, app=app, task_name=name)
    ignore = call.options.get("ignore_result")
    if ignore is None and task is not None:
        ignore = task._effective_ignore_result()
    if ignore:
        result.ignored = True
    return result


def _meta(app: "Celery", name: str, task_id: str, task: "Task | None", options: dict[str, Any],
          now: float) -> dict[str, Any]:
    from .canvas import as_signature_dicts
    current = _state.get_current_task()
    request = current.request if current is not None else None
    parent_id = options.get("parent_id")
    root_id = options.get("root_id")
    if request is not None and request.id and not request.called_directly:
        parent_id = parent_id or request.id
        root_id = root_id or request.root_id or request.id
        if options.get("add_to_parent", True) and request.id != task_id:
            request.children.append(task_id)
    meta: dict[str, Any] = {"task": options.get("shadow") or name, "root_id": root_id or task_id}
    if parent_id:
        meta["parent_id"] = parent_id
    if options.get("eta") is not None:
        meta["eta"] = to_timestamp(options["eta"], "eta")
    elif options.get("countdown") is not None:
        meta["eta"] = now + float(options["countdown"])
    expires = options.get("expires")
    if expires is None and task is not None:
        expires = task.expires
    if expires is not None:
        meta["expires"] = expires_at(expires, now)
    hard, soft = options.get("time_limit"), options.get("soft_time_limit")
    if hard is not None or soft is not None:
        meta["timelimit"] = [hard, soft]
    if options.get("headers"):
        if not isinstance(options["headers"], dict):
            raise ImproperlyConfigured(f"{name}.apply_async(): headers must be a dict")
        meta["headers"] = dict(options["headers"])
    for key in ("link", "link_error"):
        if options.get(key):
            meta[key] = as_signature_dicts(options[key], app)
    properties = {key: options[key] for key in MESSAGE_PROPERTIES if options.get(key) is not None}
    if properties:
        meta["properties"] = properties
    for key in ("group_id", "group_index", "ignore_result", "reply_to", "chord", "chain_next", "shadow",
                "retries", "argsrepr", "kwargsrepr", "stamped_headers", "stamps", "replaced_task_nesting"):
        if options.get(key) is not None:
            meta[key] = options[key]
    if options.get("meta"):
        meta.update(options["meta"])
    return meta


_STANDARD_HEADERS = frozenset({"lang", "task", "id", "shadow", "eta", "expires", "group", "group_index",
                               "retries", "timelimit", "root_id", "parent_id", "argsrepr", "kwargsrepr",
                               "origin", "ignore_result", "stamped_headers", "stamps", "replaced_task_nesting"})


def _protocol_headers(name: str, task_id: str, meta: dict[str, Any], args: list[Any],
                      kwargs: dict[str, Any]) -> dict[str, Any]:
    """Celery's message protocol 2 headers, as ``before_task_publish`` receivers expect them."""
    from .utils import from_timestamp
    import os
    import socket
    eta, expires = from_timestamp(meta.get("eta")), from_timestamp(meta.get("expires"))
    headers: dict[str, Any] = {
        "lang": "py", "task": name, "id": task_id, "shadow": meta.get("shadow"),
        "eta": eta.isoformat() if eta else None, "expires": expires.isoformat() if expires else None,
        "group": meta.get("group_id"), "group_index": meta.get("group_index"), "retries": 0,
        "timelimit": meta.get("timelimit", [None, None]), "root_id": meta.get("root_id"),
        "parent_id": meta.get("parent_id"), "argsrepr": meta.get("argsrepr") or repr(tuple(args)),
        "kwargsrepr": meta.get("kwargsrepr") or repr(kwargs),
        "origin": f"{os.getpid()}@{socket.gethostname()}", "ignore_result": bool(meta.get("ignore_result")),
        "replaced_task_nesting": int(meta.get("replaced_task_nesting") or 0),
    }
    if meta.get("stamped_headers"):
        headers["stamped_headers"] = list(meta["stamped_headers"])
        headers["stamps"] = dict(meta.get("stamps") or {})
    headers.update(meta.get("headers") or {})
    return headers


def _is_native_task(runtime: Any, name: str) -> bool:
    """True if ``name`` resolves to a plain mrqcore Task here (not a Celery task)."""
    from mrqcore.exceptions import TaskError
    from .bridge import CeleryJobTask
    try:
        cls = runtime.tasks.load(name)
    except TaskError:
        return False
    return not issubclass(cls, CeleryJobTask)
