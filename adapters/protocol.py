"""Celery's task message, read and written (protocol 2, and protocol 1 read).

Pure functions: no connection here. A message read becomes a ``WireCall``:
the task name, id, args and kwargs, and the call options that
``mrqc.calling.prepare`` takes, so a consumed message is recorded exactly as a
``.delay()`` of the same call would be.

| Celery message (protocol 2) | call option |
|---|---|
| header ``task``, ``id`` | the task name, ``task_id`` |
| ``eta``, ``expires`` (ISO 8601) | ``eta``, ``expires`` |
| ``root_id``, ``parent_id``, ``group``, ``group_index``, ``retries``, ``shadow``, ``ignore_result`` | the same (``group`` -> ``group_id``) |
| ``timelimit`` ``[hard, soft]`` | ``time_limit``, ``soft_time_limit`` |
| other headers | ``headers`` |
| property ``reply_to`` | ``reply_to`` |
| body ``[args, kwargs, embed]``: ``callbacks``, ``errbacks`` | ``link``, ``link_error`` |
| embed ``chain`` (next step last), tasks only | folded into ``link``: the next step, whose own ``link`` is the step after it |
| embed ``chain`` holding a chord or a group | ``meta["celery_chain"]``, continued as Celery does when the job succeeds (``mrqc.adapters.chords``) |
| embed ``chord`` (a chord header task: the body signature) | ``meta["celery_chord"]``, joined by ``mrqc.adapters.chords`` when the job ends |

Protocol 1 (body ``{"task", "id", "args", "kwargs", "eta", "expires", "retries",
"callbacks", "errbacks", "timelimit", "taskset", "chord"}``) maps the same way.

A chain step that is a group must be the chain's last (Celery makes a group
followed by a task a chord); a chord step's header members and body must be
tasks; other step kinds (``chunks``, ``xmap``...) are refused (``BadMessage``,
kind "unsupported").
"""
from __future__ import annotations

import copy
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from kombu import serialization

__all__ = ("BadMessage", "WireCall", "decode", "encode_body", "fold_chain", "STANDARD_HEADERS", "content_types",
           "CHORD_META", "CHAIN_META", "encode_headers", "chord_header")

#: the job ``meta`` key of a chord header task's body signature (read by ``mrqc.adapters.chords``)
CHORD_META = "celery_chord"
#: the job ``meta`` key of a ``chain`` embed that holds a chord or a group (continued by ``mrqc.adapters.chords``)
CHAIN_META = "celery_chain"

#: protocol 2 headers that are not custom headers
STANDARD_HEADERS = frozenset({"lang", "task", "id", "shadow", "eta", "expires", "group", "group_index", "retries",
                              "timelimit", "root_id", "parent_id", "argsrepr", "kwargsrepr", "origin",
                              "ignore_result", "stamped_headers", "stamps", "replaced_task_nesting"})

#: ``accept_content`` names -> content types (kombu's registry)
_NAMES = {"json": "application/json", "msgpack": "application/x-msgpack", "yaml": "application/x-yaml",
          "pickle": "application/x-python-serialize"}


class BadMessage(Exception):
    """A message the wire cannot run; ``kind`` is one of: malformed body, unknown content type,
    refused serializer, unknown task, unsupported."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass
class WireCall:
    """A task call read from a Celery message."""

    name: str
    task_id: str
    args: list[Any]
    kwargs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    protocol: int = 2


def content_types(accept: Any) -> set[str]:
    """``accept_content`` (names or content types) -> the content types accepted."""
    items = [accept] if isinstance(accept, str) else list(accept or ["json"])
    return {_NAMES.get(item, item) for item in items}


def _loads(body: Any, content_type: str | None, content_encoding: str | None, accept: set[str]) -> Any:
    content_type = content_type or "application/json"
    if content_type not in serialization.registry._decoders:  # kombu's table of known content types
        raise BadMessage("unknown content type", repr(content_type))
    if content_type not in accept:
        raise BadMessage("refused serializer", f"{content_type} is not in accept_content")
    try:
        return serialization.loads(body, content_type, content_encoding or "utf-8", accept=accept)
    except Exception as exc:  # the serializer's own error: the body is not what it claims to be
        raise BadMessage("malformed body", f"{content_type} body does not decode: {type(exc).__name__}: {exc}")


def decode(body: Any, headers: dict[str, Any] | None, properties: dict[str, Any] | None,
           content_type: str | None, content_encoding: str | None, accept: set[str]) -> WireCall:
    """Read one message; ``BadMessage`` says why it cannot be run."""
    headers = dict(headers or {})
    properties = dict(properties or {})
    payload = _loads(body, content_type, content_encoding, accept)
    if headers.get("task"):
        return _decode_v2(payload, headers, properties)
    if isinstance(payload, dict) and payload.get("task"):
        return _decode_v1(payload, properties)
    raise BadMessage("malformed body", "neither protocol 2 headers (task, id) nor a protocol 1 body")


def _decode_v2(payload: Any, headers: dict[str, Any], properties: dict[str, Any]) -> WireCall:
    if not (isinstance(payload, (list, tuple)) and len(payload) == 3):
        raise BadMessage("malformed body", "protocol 2 body must be [args, kwargs, embed]")
    args, kwargs, embed = payload
    name, task_id = headers.get("task"), headers.get("id")
    _check_call(name, task_id, args, kwargs)
    if embed is not None and not isinstance(embed, dict):
        raise BadMessage("malformed body", "protocol 2 embed must be a mapping")
    embed = embed or {}
    options: dict[str, Any] = {}
    for header, option in (("eta", "eta"), ("expires", "expires"), ("root_id", "root_id"),
                           ("parent_id", "parent_id"), ("group", "group_id"), ("group_index", "group_index"),
                           ("shadow", "shadow"), ("retries", "retries")):
        if headers.get(header) is not None:
            options[option] = headers[header]
    if headers.get("ignore_result"):
        options["ignore_result"] = True
    _time_limits(headers.get("timelimit"), options)
    custom = {k: v for k, v in headers.items() if k not in STANDARD_HEADERS}
    if custom:
        options["headers"] = custom
    if properties.get("reply_to"):
        options["reply_to"] = properties["reply_to"]
    _workflow(embed.get("callbacks"), embed.get("errbacks"), embed.get("chain"), embed.get("chord"), options)
    return WireCall(name, task_id, list(args), dict(kwargs), options, 2)


def _decode_v1(payload: dict[str, Any], properties: dict[str, Any]) -> WireCall:
    name, task_id = payload.get("task"), payload.get("id")
    args, kwargs = payload.get("args") or [], payload.get("kwargs") or {}
    _check_call(name, task_id, args, kwargs)
    options: dict[str, Any] = {}
    for key, option in (("eta", "eta"), ("expires", "expires"), ("retries", "retries"), ("taskset", "group_id")):
        if payload.get(key) is not None:
            options[option] = payload[key]
    _time_limits(payload.get("timelimit"), options)
    if properties.get("reply_to"):
        options["reply_to"] = properties["reply_to"]
    _workflow(payload.get("callbacks"), payload.get("errbacks"), None, payload.get("chord"), options)
    return WireCall(name, task_id, list(args), dict(kwargs), options, 1)


def _check_call(name: Any, task_id: Any, args: Any, kwargs: Any) -> None:
    if not isinstance(name, str) or not name:
        raise BadMessage("malformed body", f"task name must be a non-empty string, got {name!r}")
    if not isinstance(task_id, str) or not task_id:
        raise BadMessage("malformed body", f"task id must be a non-empty string, got {task_id!r}")
    if not isinstance(args, (list, tuple)):
        raise BadMessage("malformed body", f"args must be a list, got {type(args).__name__}")
    if not isinstance(kwargs, dict):
        raise BadMessage("malformed body", f"kwargs must be a mapping, got {type(kwargs).__name__}")


def _time_limits(value: Any, options: dict[str, Any]) -> None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        hard, soft = value
        if hard is not None:
            options["time_limit"] = hard
        if soft is not None:
            options["soft_time_limit"] = soft


def _workflow(callbacks: Any, errbacks: Any, chain: Any, chord: Any, options: dict[str, Any]) -> None:
    meta: dict[str, Any] = {}
    if chord:
        if not isinstance(chord, dict) or not chord.get("task"):
            raise BadMessage("malformed body", "embed chord must be the chord body's signature")
        meta[CHORD_META] = chord
    links = list(callbacks or [])
    if chain:
        if isinstance(chain, list) and any(isinstance(s, dict) and s.get("subtask_type") for s in chain):
            check_chain(chain)
            meta[CHAIN_META] = chain
        else:
            links.insert(0, fold_chain(chain))
    if links:
        options["link"] = links
    if errbacks:
        options["link_error"] = list(errbacks)
    if meta:
        options["meta"] = meta


def check_chain(chain: Any) -> None:
    """``BadMessage`` unless every step of a ``chain`` embed (next step last) is one the wire continues."""
    if not isinstance(chain, list) or not all(isinstance(s, dict) and s.get("task") for s in chain):
        raise BadMessage("malformed body", "embed chain must be a list of task signatures")
    for position, step in enumerate(chain):
        kind = step.get("subtask_type")
        if kind == "chord":
            chord_header(step)
        elif kind == "group" and position != 0:
            raise BadMessage("unsupported", f"chain step {step['task']!r}: a group followed by more steps")
        elif kind not in (None, "chord", "group"):
            raise BadMessage("unsupported", f"chain step {step['task']!r} is a {kind}")


def chord_header(step: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None, dict[str, Any]]:
    """A Celery chord signature's header tasks, group id and body (``BadMessage`` if it is not one the
    wire runs: header members and body must be tasks)."""
    kwargs = step.get("kwargs") if isinstance(step.get("kwargs"), dict) else {}
    header, group_id = kwargs.get("header"), (step.get("options") or {}).get("task_id")
    if isinstance(header, dict):  # Celery writes the header as a group signature
        group_id = (header.get("options") or {}).get("task_id") or group_id
        header = (header.get("kwargs") or {}).get("tasks")
    body = kwargs.get("body")
    if not isinstance(header, list) or not isinstance(body, dict) or not body.get("task"):
        raise BadMessage("malformed body", f"{step.get('task')!r}: a chord needs a header and a body")
    for task in header:
        if not isinstance(task, dict) or not task.get("task") or task.get("subtask_type"):
            raise BadMessage("unsupported", f"{step.get('task')!r}: chord header members must be tasks")
    if body.get("subtask_type"):
        raise BadMessage("unsupported", f"{step.get('task')!r}: the chord body must be a task")
    return header, group_id, body


def fold_chain(chain: list[dict[str, Any]]) -> dict[str, Any]:
    """Celery's ``chain`` embed of tasks only (the next step last) as one signature whose ``link`` holds the rest."""
    if not isinstance(chain, list) or not all(isinstance(s, dict) and s.get("task") for s in chain):
        raise BadMessage("malformed body", "embed chain must be a list of task signatures")
    current: dict[str, Any] | None = None
    for step in chain:  # the last step first
        step = copy.deepcopy(step)
        if step.get("subtask_type"):
            raise BadMessage("unsupported", f"chain step {step['task']!r} is a {step['subtask_type']}")
        if current is not None:
            opts = step.setdefault("options", {}) or {}
            step["options"] = opts
            opts["link"] = [current] + list(opts.get("link") or [])
        current = step
    assert current is not None
    return current


def encode_body(args: list[Any], kwargs: dict[str, Any], callbacks: Any, errbacks: Any,
                chain: list[dict[str, Any]] | None, chord: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """A protocol 2 body (``chord``: a chord header task's body signature)."""
    return (list(args), kwargs, {"callbacks": callbacks or None, "errbacks": errbacks or None,
                                 "chain": chain or None, "chord": chord or None})


def encode_headers(name: str, task_id: str, meta: dict[str, Any], args: list[Any],
                   kwargs: dict[str, Any]) -> dict[str, Any]:
    """Protocol 2 headers of a call (``meta``: the record meta ``mrqc.calling.prepare`` built)."""
    import datetime

    def iso(value: Any) -> str | None:
        if value is None:
            return None
        return datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc).isoformat()

    headers = {"lang": "py", "task": name, "id": task_id, "shadow": meta.get("shadow"), "eta": iso(meta.get("eta")),
               "expires": iso(meta.get("expires")), "group": meta.get("group_id"),
               "group_index": meta.get("group_index"), "retries": meta.get("retries") or 0,
               "timelimit": meta.get("timelimit", [None, None]), "root_id": meta.get("root_id"),
               "parent_id": meta.get("parent_id"), "argsrepr": repr(tuple(args)), "kwargsrepr": repr(kwargs),
               "origin": origin(), "ignore_result": bool(meta.get("ignore_result"))}
    headers.update(meta.get("headers") or {})
    return headers


def origin() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"
