"""``app.control`` and ``app.control.inspect()``: Celery's remote control, over mrqc's store.

The transport and the worker side are mrqcore's (``mrqcore.control``,
``mrqcore.control_worker``): a command is published to every live worker of
the app's store, and the replies come back within ``timeout``. This module
gives them Celery's names, arguments and reply shapes (``celery/app/control.py``,
``celery/worker/control.py``):

| call | returns |
|---|---|
| ``app.control.inspect().active()`` (``reserved``, ``scheduled``, ``revoked``, ``registered``, ``stats``, ``active_queues``, ``query_task``) | ``{worker: [...]}``, or None when no worker replied |
| ``app.control.ping()`` | ``[{worker: {"ok": "pong"}}, ...]`` |
| ``app.control.revoke(id, terminate=True)`` | None (``reply=True``: the replies); the record is cancelled first |
| ``rate_limit``, ``time_limit``, ``pool_grow``, ``pool_shrink``, ``autoscale``, ``add_consumer``, ``cancel_consumer``, ``shutdown`` | None, or with ``reply=True`` ``[{worker: {"ok": ...}}]`` |
| ``app.control.purge()`` | how many waiting jobs were removed from the app's queues |
| ``app.control.broadcast(command, arguments, reply=True)`` | the raw replies, in Celery's shapes |

Arguments as Celery's: ``destination=`` (worker names: the id ``mrqc workers``
lists, or the ``-n`` name without its suffix), ``timeout=`` (seconds),
``reply=``, ``limit=``, ``callback=``, ``pattern=``/``matcher=`` (``glob``,
``pcre``). ``connection=`` and ``channel=`` are accepted and unused (the app's
store is the connection).

On the worker, ``attach_worker`` (called by the Celery middleware at worker
start) adds the commands about Celery tasks: ``registered`` (task names with
``exchange``/``routing_key``/``rate_limit`` items), ``rate_limit`` and
``time_limit`` (they change the task object of the worker's app, read at each
call), and makes a terminated job end through ``RevokedInterrupt`` (state
REVOKED, ``task_revoked`` with ``terminated=True``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from mrqcore import control as core_control
from mrqcore import serialization
from mrqcore.job import Job

from .exceptions import ImproperlyConfigured, UnsupportedOption

if TYPE_CHECKING:
    from mrqcore.worker import Worker

    from .app import Celery

#: the task attributes ``registered`` lists by default (Celery's DEFAULT_TASK_INFO_ITEMS)
DEFAULT_TASK_INFO_ITEMS = ("exchange", "routing_key", "rate_limit")
TERM_SIGNAME = "SIGTERM"

__all__ = ["Control", "Inspect", "attach_worker", "celery_reply", "DEFAULT_TASK_INFO_ITEMS"]


class Inspect:
    """``app.control.inspect(destination=None, timeout=1.0, ...)``: ask workers about themselves.

    Each method returns ``{worker: reply}`` for the workers that replied within
    ``timeout`` (None when none did; one worker's reply when ``destination`` is
    one name, as Celery).
    """

    def __init__(self, destination: Any = None, timeout: float = 1.0, callback: Callable[..., Any] | None = None,
                 connection: Any = None, app: "Celery | None" = None, limit: int | None = None,
                 pattern: str | None = None, matcher: str | None = None) -> None:
        self.app = app
        self.destination = destination
        self.timeout = timeout
        self.callback = callback
        self.connection = connection
        self.limit = limit
        self.pattern = pattern
        self.matcher = matcher

    def _request(self, command: str, **arguments: Any) -> Any:
        assert self.app is not None, "Inspect needs an app: use app.control.inspect()"
        replies = self.app.control.broadcast(command, arguments=arguments, destination=self.destination,
                                             callback=self.callback, limit=self.limit, timeout=self.timeout,
                                             reply=True, pattern=self.pattern, matcher=self.matcher)
        if not replies:
            return None
        by_node: dict[str, Any] = {}
        for item in replies:
            by_node.update(item)
        if self.destination and not isinstance(self.destination, (list, tuple)):
            return by_node.get(self.destination) or next(iter(by_node.values()), None)
        return by_node

    def active(self, safe: bool | None = None) -> Any:
        return self._request("active", safe=safe)

    def reserved(self, safe: bool | None = None) -> Any:
        return self._request("reserved")

    def scheduled(self, safe: bool | None = None) -> Any:
        return self._request("scheduled")

    def revoked(self) -> Any:
        return self._request("revoked")

    def registered(self, *taskinfoitems: str) -> Any:
        return self._request("registered", taskinfoitems=list(taskinfoitems))

    registered_tasks = registered

    def stats(self) -> Any:
        return self._request("stats")

    def ping(self, destination: Any = None) -> Any:
        if destination is not None:
            self.destination = destination
        return self._request("ping")

    def active_queues(self) -> Any:
        return self._request("active_queues")

    def query_task(self, *ids: Any) -> Any:
        flat = [one for item in ids for one in ([item] if isinstance(item, str) else item)]
        return self._request("query_task", ids=flat)

    def report(self) -> Any:
        return self._request("stats")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise UnsupportedOption(f"app.control.inspect().{name}() is not supported by mrqc; the inspect commands "
                                "are listed in docs/remote-control.md")


class Control:
    """``app.control``: remote control of the app's live workers (see the module docstring)."""

    def __init__(self, app: "Celery") -> None:
        self.app = app

    def inspect(self, destination: Any = None, timeout: float = 1.0, callback: Callable[..., Any] | None = None,
                connection: Any = None, limit: int | None = None, pattern: str | None = None,
                matcher: str | None = None) -> Inspect:
        """An ``Inspect`` for this app (``app.control.inspect().active()``)."""
        return Inspect(destination=destination, timeout=timeout, callback=callback, connection=connection,
                       app=self.app, limit=limit, pattern=pattern, matcher=matcher)

    def broadcast(self, command: str, arguments: dict[str, Any] | None = None, destination: Any = None,
                  connection: Any = None, reply: bool = False, timeout: float = 1.0, limit: int | None = None,
                  callback: Callable[..., Any] | None = None, channel: Any = None, pattern: str | None = None,
                  matcher: str | None = None, **extra_kwargs: Any) -> list[dict[str, Any]] | None:
        """Send ``command`` to the workers; with ``reply``, their replies in Celery's shapes."""
        shaped_callback: Callable[[dict[str, Any]], Any] | None = None
        if callback is not None:
            shaped_callback = lambda item: callback({node: celery_reply(command, data)  # noqa: E731
                                                     for node, data in item.items()})
        replies = core_control.broadcast(self.app.runtime.store, command, arguments, destination=destination,
                                         reply=reply, timeout=timeout, limit=limit, callback=shaped_callback,
                                         pattern=pattern, matcher=matcher)
        if replies is None:
            return None
        return [{node: celery_reply(command, data) for node, data in item.items()} for item in replies]

    def ping(self, destination: Any = None, timeout: float = 1.0, **kwargs: Any) -> Any:
        return self.broadcast("ping", reply=True, arguments={}, destination=destination, timeout=timeout, **kwargs)

    def revoke(self, task_id: str | Iterable[str], destination: Any = None, terminate: bool = False,
               signal: Any = TERM_SIGNAME, **kwargs: Any) -> Any:
        """Revoke tasks: their records are cancelled (a waiting task never runs, on any worker), then
        the workers are told (they remember the ids; with ``terminate`` a running task is killed)."""
        ids = [task_id] if isinstance(task_id, str) else list(task_id)
        cancel_records(self.app, ids)
        return self.broadcast("revoke", destination=destination,
                              arguments={"task_id": ids, "terminate": bool(terminate), "signal": signal}, **kwargs)

    def terminate(self, task_id: str | Iterable[str], destination: Any = None, signal: Any = TERM_SIGNAME,
                  **kwargs: Any) -> Any:
        return self.revoke(task_id, destination=destination, terminate=True, signal=signal, **kwargs)

    def rate_limit(self, task_name: str, rate_limit: Any, destination: Any = None, **kwargs: Any) -> Any:
        return self.broadcast("rate_limit", destination=destination,
                              arguments={"task_name": task_name, "rate_limit": rate_limit}, **kwargs)

    def time_limit(self, task_name: str, soft: float | None = None, hard: float | None = None,
                   destination: Any = None, **kwargs: Any) -> Any:
        return self.broadcast("time_limit", destination=destination,
                              arguments={"task_name": task_name, "hard": hard, "soft": soft}, **kwargs)

    def add_consumer(self, queue: str, exchange: Any = None, exchange_type: str = "direct", routing_key: Any = None,
                     options: dict[str, Any] | None = None, destination: Any = None, **kwargs: Any) -> Any:
        arguments = dict({"queue": queue, "exchange": exchange, "exchange_type": exchange_type,
                          "routing_key": routing_key}, **(options or {}))
        return self.broadcast("add_consumer", destination=destination, arguments=arguments, **kwargs)

    def cancel_consumer(self, queue: str, destination: Any = None, **kwargs: Any) -> Any:
        return self.broadcast("cancel_consumer", destination=destination, arguments={"queue": queue}, **kwargs)

    def pool_grow(self, n: int = 1, destination: Any = None, **kwargs: Any) -> Any:
        return self.broadcast("pool_grow", arguments={"n": n}, destination=destination, **kwargs)

    def pool_shrink(self, n: int = 1, destination: Any = None, **kwargs: Any) -> Any:
        return self.broadcast("pool_shrink", arguments={"n": n}, destination=destination, **kwargs)

    def autoscale(self, max: int, min: int, destination: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        return self.broadcast("autoscale", arguments={"max": max, "min": min}, destination=destination, **kwargs)

    def shutdown(self, destination: Any = None, **kwargs: Any) -> Any:
        return self.broadcast("shutdown", arguments={}, destination=destination, **kwargs)

    def enable_events(self, destination: Any = None, **kwargs: Any) -> Any:
        return self.broadcast("enable_events", arguments={}, destination=destination, **kwargs)

    def disable_events(self, destination: Any = None, **kwargs: Any) -> Any:
        return self.broadcast("disable_events", arguments={}, destination=destination, **kwargs)

    def purge(self, connection: Any = None) -> int:
        """Remove every waiting job from the app's queues; returns how many were removed."""
        store = self.app.runtime.store
        return sum(store.purge_queue(queue) for queue in self.app._worker_queues())

    discard_all = purge

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise UnsupportedOption(f"app.control.{name}() is not supported by mrqc; the remote-control commands are "
                                "listed in docs/remote-control.md")


def cancel_records(app: "Celery", ids: Iterable[str]) -> dict[str, str | None]:
    """Cancel the records of ``ids`` (a waiting one never runs; a chain stops at a revoked step: the
    steps parked after it are cancelled too). Returns each id's status before (None: unknown)."""
    runtime = app.runtime
    before: dict[str, str | None] = {}
    for job_id in ids:
        previous = before[job_id] = Job(job_id, runtime).cancel()
        if previous in ("queued", "retry"):
            meta = serialization.loads((runtime.store.get(job_id, ("meta",)) or {}).get("meta")) or {}
            for downstream in (meta.get("chain_next") or {}).get("downstream") or ():
                Job(downstream, runtime).cancel()
    return before


# --- Celery's reply shapes ----------------------------------------------------------------------


def celery_reply(command: str, data: Any) -> Any:
    """One worker's plain reply to ``command`` (mrqcore.control_worker) in Celery's shape."""
    if isinstance(data, dict) and "error" in data and command not in ("query_task",):
        return data
    if command in ("active", "reserved") and isinstance(data, list):
        return [_request_info(job) for job in data]
    if command == "query_task" and isinstance(data, dict):
        return {job_id: [state, _request_info(info)] for job_id, (state, info) in data.items()}
    if command == "active_queues" and isinstance(data, list):
        return [_queue_info(name) for name in data]
    if command == "stats" and isinstance(data, dict) and "pool" in data:
        return {"total": data.get("total", {}), "pid": data.get("pid"), "uptime": data.get("uptime"),
                "pool": dict(data["pool"], timeouts=[]), "prefetch_count": data.get("prefetch_count"),
                "broker": {"transport": data.get("store")}, "rusage": "N/A",
                "mrqc": {key: data[key] for key in ("id", "name", "host", "status", "queues", "jobs_done",
                                                    "rss_mb") if key in data}}
    return data


def _request_info(job: dict[str, Any]) -> dict[str, Any]:
    """A job as Celery's ``Request.info()``."""
    params = job.get("params") or {}
    celery_call = isinstance(params, dict) and set(params) <= {"args", "kwargs"}
    return {"id": job.get("id"), "name": job.get("path"),
            "args": list(params.get("args") or ()) if celery_call else [],
            "kwargs": dict(params.get("kwargs") or {}) if celery_call else params,
            "type": job.get("path"), "hostname": job.get("worker"), "time_start": job.get("time_start"),
            "acknowledged": True,
            "delivery_info": {"exchange": "", "routing_key": job.get("queue"), "priority": None,
                              "redelivered": False},
            "worker_pid": job.get("worker_pid")}


def _queue_info(name: str) -> dict[str, Any]:
    """A queue as kombu's ``Queue.as_dict(recurse=True)`` (mrqc queues are Redis lists: direct, by name)."""
    return {"name": name, "exchange": {"name": name, "type": "direct", "arguments": None, "durable": True,
                                       "passive": False, "auto_delete": False, "delivery_mode": None,
                                       "no_declare": False},
            "routing_key": name, "queue_arguments": None, "binding_arguments": None, "consumer_arguments": None,
            "durable": True, "exclusive": False, "auto_delete": False, "no_ack": False, "alias": None,
            "bindings": [], "no_declare": None, "expires": None, "message_ttl": None, "max_length": None,
            "max_length_bytes": None, "max_priority": None}


# --- the worker side ----------------------------------------------------------------------------


def attach_worker(worker: "Worker") -> None:
    """Add the Celery commands to a worker's control service (the Celery middleware calls it)."""
    from . import bridge
    from .exceptions import RevokedInterrupt
    control = worker.control
    control.revoke_exception = lambda job_id: RevokedInterrupt(f"terminated by revoke: {job_id}")

    def find(task_name: str) -> Any:
        for app in bridge._apps_for(worker.runtime):
            task = app.tasks.get(task_name)
            if task is not None:
                return task
        return None

    def registered(taskinfoitems: Any = None, builtins: bool = False, **_: Any) -> list[str]:
        items = [item for item in (taskinfoitems or DEFAULT_TASK_INFO_ITEMS)
                 if isinstance(item, str) and not item.startswith("_")]
        names: dict[str, Any] = {}
        for app in bridge._apps_for(worker.runtime):
            for name, task in app.tasks.items():
                if builtins or not name.startswith("celery."):
                    names.setdefault(name, task)
        lines = []
        for name in sorted(names):
            fields = {item: str(getattr(names[name], item, None)) for item in items
                      if getattr(names[name], item, None) is not None}
            lines.append(f"{name} [{' '.join('='.join(f) for f in fields.items())}]" if fields else name)
        return lines

    def rate_limit(task_name: str, rate_limit: Any, **_: Any) -> dict[str, str]:
        from .utils import parse_rate_limit
        try:
            parse_rate_limit(rate_limit, "rate_limit")
        except ImproperlyConfigured as exc:
            return {"error": f"Invalid rate limit string: {exc}"}
        task = find(task_name)
        if task is None:
            return {"error": "unknown task"}
        task.rate_limit = rate_limit or None
        if not rate_limit:
            return {"ok": "rate limit disabled successfully"}
        return {"ok": "new rate limit set successfully"}

    def time_limit(task_name: str | None = None, hard: Any = None, soft: Any = None, **_: Any) -> dict[str, str]:
        task = find(task_name) if task_name else None
        if task is None:
            return {"error": "unknown task"}
        task.soft_time_limit = float(soft) if soft is not None else None
        task.time_limit = float(hard) if hard is not None else None
        worker.runtime.tasks.forget(task.name)  # the hard limit is mrqcore's timeout setting, cached per task
        return {"ok": "time limits set successfully"}

    control.register("registered", registered)
    control.register("rate_limit", rate_limit)
    control.register("time_limit", time_limit)
