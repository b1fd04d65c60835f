"""Remote control of live workers: broadcast a command over the store, collect the replies.

What Celery calls remote control (``inspect active``, ``control revoke``, ``ping``...)
travels over the store's pub/sub primitives (``JobStore.publish``/``subscribe``),
so it reaches every worker of one store and key prefix, on Redis, Sentinel or
the memory store, with nothing else to run. This module is the client side and
the wire format; the worker side is ``mrqcore.control_worker`` (a worker
service answering with plain data about the worker). Celery's reply shapes are
the compat layer's (``mrqc.control``).

| step | channel (relative to the store prefix) | message (JSON) |
|---|---|---|
| request | ``control:requests`` (every worker listens) | ``{"id", "command", "arguments", "destination", "pattern", "matcher", "reply_to"}`` |
| reply | ``control:reply:{request id}`` (the caller listens) | ``{"id", "worker", "reply"}`` |

``destination`` (worker names) and ``pattern`` (a glob, or a regex with
``matcher="pcre"``) are matched by each worker against its id and its name
(the id without its random suffix: ``web@host`` for ``web@host.3f2a1c``); a
worker that does not match stays silent. The caller subscribes to its reply
channel before it publishes, so no reply is lost; it waits ``timeout``
seconds, or until ``limit`` replies came (a list of destinations sets the
limit to its length), and returns ``[{worker id: reply}, ...]``. No worker: an
empty list once the timeout has passed. Pub/sub is fire and forget: a worker
that is down when a command is sent never sees it (as with Celery's
broadcast).

``revoke(runtime, ids)`` is the MRQ-mode revoke: the records first (a queued or
waiting job is cancelled in the store, so no worker will run it, even one that
is not running yet), then the broadcast (workers remember the ids, drop those
they were handed but have not started, and with ``terminate`` kill the running
ones: they end with status ``cancel``).
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable, Iterable, Sequence

from .exceptions import ConfigError

#: the channel every worker listens on (the store puts it under its prefix)
REQUEST_CHANNEL = "control:requests"
#: how a pattern is matched, as Celery's ``matcher`` names them
MATCHERS = ("glob", "pcre")

Reply = dict[str, Any]

__all__ = ["REQUEST_CHANNEL", "MATCHERS", "reply_channel", "broadcast", "revoke", "worker_name"]


def reply_channel(request_id: str) -> str:
    """The channel the replies to one request come back on."""
    return f"control:reply:{request_id}"


def worker_name(worker_id: str) -> str:
    """A worker id without the random suffix the worker added (``web@host.3f2a1c`` -> ``web@host``)."""
    base, dot, suffix = worker_id.rpartition(".")
    return base if dot and len(suffix) == 6 else worker_id


def broadcast(store: Any, command: str, arguments: dict[str, Any] | None = None, *,
              destination: str | Sequence[str] | None = None, reply: bool = False, timeout: float = 1.0,
              limit: int | None = None, callback: Callable[[Reply], Any] | None = None,
              pattern: str | None = None, matcher: str | None = None) -> list[Reply] | None:
    """Send ``command`` to the live workers of ``store``; with ``reply``, return their replies.

    Returns None when ``reply`` is False (nothing is waited for), else a list
    of ``{worker id: reply}`` dicts in the order they came, after ``timeout``
    seconds or as soon as ``limit`` replies came (``destination`` given as a
    list: its length is the limit). ``callback`` is called with each reply as
    it comes. Bad arguments are a ``ConfigError`` naming the argument.
    """
    if not isinstance(command, str) or not command:
        raise ConfigError("command", f"a control command must be a non-empty string, got {command!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError("timeout", f"the reply timeout must be a number of seconds > 0, got {timeout!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError("limit", f"limit must be a whole number of replies >= 1 (or None), got {limit!r}")
    if matcher is not None and matcher not in MATCHERS:
        raise ConfigError("matcher", f"unknown matcher {matcher!r}; choose one of {list(MATCHERS)}")
    destinations = _destinations(destination)
    if destinations and limit is None:
        limit = len(destinations)
    request_id = uuid.uuid4().hex
    message = {"id": request_id, "command": command, "arguments": dict(arguments or {}),
               "destination": destinations, "pattern": pattern, "matcher": matcher,
               "reply_to": reply_channel(request_id) if reply else None}
    payload = json.dumps(message, default=_jsonable)
    if not reply:
        store.publish(REQUEST_CHANNEL, payload)
        return None
    replies: list[Reply] = []
    with store.subscribe(reply_channel(request_id)) as subscription:
        store.publish(REQUEST_CHANNEL, payload)
        deadline = time.monotonic() + float(timeout)
        while limit is None or len(replies) < limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            raw = subscription.get(remaining)
            if raw is None:
                continue
            try:
                data = json.loads(raw)
                item = {str(data["worker"]): data["reply"]}
            except (ValueError, KeyError, TypeError):
                continue  # not a reply of ours
            if data.get("id") != request_id:
                continue
            replies.append(item)
            if callback is not None:
                callback(item)
    return replies


def revoke(runtime: Any, job_ids: str | Iterable[str], terminate: bool = False,
           signal: str | None = None) -> dict[str, str | None]:
    """Revoke jobs: cancel their records, then tell every worker (no reply is waited for).

    A queued or waiting (retry, countdown) job is cancelled in the store and
    never runs; a started one is marked ``cancel_requested``, and the workers
    drop it if it has not started running yet, or kill it with ``terminate``
    (it ends ``cancel``). Every worker remembers the ids (``revoked``).
    Returns each id's status before the revoke (None: no such job).
    """
    from .job import Job
    ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
    before = {job_id: Job(job_id, runtime).cancel() for job_id in ids}
    broadcast(runtime.store, "revoke", {"task_id": ids, "terminate": bool(terminate), "signal": signal})
    return before


def _destinations(destination: str | Sequence[str] | None) -> list[str] | None:
    if destination is None:
        return None
    names = [destination] if isinstance(destination, str) else list(destination)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ConfigError("destination", "destination must be a worker name or a non-empty list of worker "
                                         f"names, got {destination!r}")
    return names


def _jsonable(value: Any) -> Any:
    """Arguments JSON cannot carry as such (sets, tuples of ids) travel as lists; the rest as text."""
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)
