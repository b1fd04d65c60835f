"""Chords over the Celery wire, both ways, joined in Celery's Redis result backend; and the chains
that hold them.

Celery joins a chord in its Redis result backend (``RedisBackend.on_chord_part_return``):
the publisher writes the header's size, each header task that ends adds its
state and result to the chord's keys, and the task that completes the count
claims the join and calls the body with the header's results, in header
order. The wire does the same on the same keys (``transports.celery_redis``),
so a chord whose header tasks run on Celery workers, on mrqc wire workers, or
on both, is joined once, by whichever side finishes last.

**Consuming** (a Celery client's ``chord(header)(body)``): a header message
carries the body signature in its embed ``chord``; the wire records it in the
job's ``meta["celery_chord"]`` (``mrqc.adapters.protocol``). When the job ends
(SUCCESS, FAILURE or REVOKED: not a retry), ``ChordJoiner.part_ended`` records
the part. The part that completes the chord reads every part; if one failed,
the body ends FAILURE with ``ChordError("Dependency <id> raised <exc>")``, its
errbacks run and the chain after it is failed too (Celery's
``chord_error_from_stack``); else the body is published with the list of
results (over the wire: a Celery worker or an mrqc worker runs it).

**Publishing** (an mrqc app's ``chord``, and chains holding a chord or a group):
``chord_signature`` and ``body_signature`` build the signatures Celery's canvas
puts in a message (``mrqc.adapters.publisher`` uses them): each header message
carries the body in its ``chord`` embed, with the header's ``group`` and
``group_index``, and the chord's size is written before the header is sent.

**Chains holding a chord or a group** (a consumed message whose ``chain``
embed has one, kept in ``meta["celery_chain"]``): when the job succeeds,
``continue_chain`` applies the next step with its result and the rest of the
chain, as Celery's tracer does (``Publisher.send_signature``).

A chord needs a Redis ``result_backend``: Celery joins it there. With another
backend (``rpc://``, none) Celery polls with ``celery.chord_unlock``, which the
wire does not run: those messages, and chord header messages, are
dead-lettered as unsupported, and publishing a chord raises ``UnsupportedOption``.
"""
from __future__ import annotations

import datetime
import logging
import uuid
from typing import TYPE_CHECKING, Any

from kombu.utils.json import dumps

from .protocol import CHAIN_META, CHORD_META
from .results import DEFAULT_EXPIRES, backend_for, celery_meta, celery_outcome

if TYPE_CHECKING:
    from mrqc.app import Celery
    from mrqcore.execution import RunningJob

    from .transports.celery_redis import CeleryRedisBackend

logger = logging.getLogger("mrqc.wire")

__all__ = ("ChordJoiner", "continue_chain", "chord_backend", "body_signature", "chord_signature", "group_signature",
           "CHORD_UNLOCK")

#: Celery's polling join, used with result backends that cannot join natively
CHORD_UNLOCK = "celery.chord_unlock"
#: the states whose part fails the chord (Celery's ``PROPAGATE_STATES``)
_PROPAGATE = ("FAILURE", "REVOKED")
#: Celery's default ``result_chord_join_timeout``
_JOIN_TIMEOUT = 3.0


def chord_backend(app: "Celery", what: str) -> "CeleryRedisBackend":
    """The Redis result backend chords of ``app`` are joined in; ``UnsupportedOption`` if there is none."""
    from mrqc.exceptions import UnsupportedOption
    backend = backend_for(app)
    if backend is None:
        raise UnsupportedOption(f"{what}: chords over the Celery wire need a Redis result_backend, where Celery "
                                f"joins them (result_backend is {app.conf.result_backend!r})")
    return backend


def result_expires(app: "Celery") -> int:
    """``result_expires`` in seconds (Celery's default: one day)."""
    return int(app.conf.seconds("result_expires") or DEFAULT_EXPIRES)


def chord_expires(app: "Celery") -> int:
    """Celery's ``chord_expires``: ``result_chord_expires``, else ``result_expires`` (seconds)."""
    value = app.conf.get("result_chord_expires")
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    return int(value) if value is not None else result_expires(app)


def _ordered(app: "Celery") -> bool:
    options = app.conf.get("result_backend_transport_options") or {}
    return bool(options.get("result_chord_ordered", True))


def continue_chain(app: "Celery", job: "RunningJob", status: str, result: Any) -> None:
    """A job whose message carried a ``chain`` holding a chord or a group succeeded: apply its next step
    with the result, the rest of the chain carried on (Celery's tracer does the same)."""
    meta = job.data.get("meta") if isinstance(job.data.get("meta"), dict) else {}
    chain = meta.get(CHAIN_META)
    if not chain or status != "success":
        return
    from .wire import publisher
    publisher(app).send_signature(chain[-1], (result,), list(chain[:-1]) or None, parent_id=job.id,
                                  root_id=meta.get("root_id") or job.id)


class ChordJoiner:
    """Joins the chords whose header tasks this wire worker runs (called after each job)."""

    def __init__(self, app: "Celery") -> None:
        self.app = app
        self._backend: "CeleryRedisBackend | None" = None

    def part_ended(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        meta = job.data.get("meta") if isinstance(job.data.get("meta"), dict) else {}
        body = meta.get(CHORD_META)
        group_id = meta.get("group_id")
        if not body or not group_id:
            return
        outcome = celery_outcome(self.app, job, status, result, exc)
        if outcome is None or outcome[0] not in ("SUCCESS",) + _PROPAGATE:
            return  # not over (a retry): the part counts when it ends
        if self._backend is None:
            self._backend = chord_backend(self.app, f"chord {group_id}")
        state, value, _ = outcome
        self._record(self._backend, group_id, job.id, meta.get("group_index"), state, value, body)

    def _record(self, backend: "CeleryRedisBackend", group_id: str, task_id: str, index: Any, state: str,
                value: Any, body: dict[str, Any]) -> None:
        conf = self.app.conf
        join_timeout = float(conf.get("result_chord_join_timeout") or _JOIN_TIMEOUT)
        claim = max(5, int(join_timeout * 2))  # Celery's: the claim outlives a join that times out
        expires = chord_expires(self.app)
        group_expires = max(expires, result_expires(self.app)) if expires else 0
        token = uuid.uuid4().hex
        ordered = _ordered(self.app)
        part = backend.chord_part(group_id, task_id, index, dumps([1, task_id, state, value]), ordered,
                                  expires, group_expires, claim, token)
        if not part.complete:
            return
        try:
            values = []
            for _, part_id, part_state, part_value in backend.chord_parts(group_id, ordered):
                if part_state in _PROPAGATE:
                    raise _chord_error(part_id, part_value)
                values.append(part_value)
        except Exception as error:  # a failed part (ChordError) or unreadable parts: the body fails
            from mrqc.exceptions import ChordError
            if not isinstance(error, ChordError):
                error = ChordError(f"Join error: {error!r}")
            logger.error("celery wire: chord %s failed: %s", group_id, error)
            try:
                self._fail_body(body, error)
            finally:
                backend.forget_chord_size(group_id)
            return
        if not backend.renew_claim(group_id, token, claim * 2):
            logger.warning("celery wire: chord %s body not sent: another worker took over its join", group_id)
            return
        try:
            self._call_body(body, values)
        except Exception as error:
            from mrqc.exceptions import ChordError
            logger.exception("celery wire: chord %s body could not be sent", group_id)
            self._fail_body(body, ChordError(f"Callback error: {error!r}"))
        finally:
            if not backend.chord_done(group_id, token, max(claim * 4, 300)):
                logger.warning("celery wire: chord %s join claim lost before cleanup; its keys expire", group_id)

    def _call_body(self, body: dict[str, Any], values: list[Any]) -> None:
        """Publish the body with the header's results (Celery's ``callback.delay(results)``)."""
        from .wire import publisher
        publisher(self.app).send_signature(body, (values,))

    def _fail_body(self, body: dict[str, Any], error: BaseException) -> None:
        """Celery's ``chord_error_from_stack``: errbacks, the body's FAILURE, then the chain after it."""
        options = body.get("options") or {}
        body_id = options.get("task_id")
        errbacks = list(options.get("link_error") or ())
        if errbacks and body_id:
            from mrqc.task import Context
            from mrqc.trace import ExceptionInfo, _call_errbacks
            request = Context(id=body_id, root_id=options.get("root_id") or body_id, errbacks=errbacks,
                              task=body.get("task"), called_directly=False, delivery_info={"is_eager": False})
            _call_errbacks(_BodyTask(self.app, body.get("task")), request, error, ExceptionInfo(error))
        failure = {"exc_type": type(error).__name__, "exc_message": list(error.args),
                   "exc_module": "celery.exceptions"}
        failed = [body_id] + [(step.get("options") or {}).get("task_id") for step in options.get("chain") or ()
                              if isinstance(step, dict)]
        backend = self._backend or chord_backend(self.app, "chord body")
        expires = result_expires(self.app)
        for task_id in filter(None, failed):
            backend.store(task_id, celery_meta(task_id, "FAILURE", failure, f"{type(error).__name__}: {error}"),
                          expires)


def _chord_error(part_id: str, value: Any) -> BaseException:
    from mrqc.exceptions import ChordError
    if isinstance(value, dict) and value.get("exc_type"):
        message = value.get("exc_message")
        args = message if isinstance(message, list) else [message]
        shown = f"{value['exc_type']}({', '.join(repr(a) for a in args)})"
    else:
        shown = repr(value)
    return ChordError(f"Dependency {part_id} raised {shown}")


class _BodyTask:
    """What ``mrqc.trace._call_errbacks`` needs of the body's task: its app."""

    def __init__(self, app: "Celery", name: Any) -> None:
        self._app = app
        self.name = name

    def _get_app(self) -> "Celery":
        return self._app


# --- publishing: the signatures Celery's canvas writes ------------------------------------


def body_signature(task: dict[str, Any], group_id: str, chain: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A chord body (a task signature dict) as Celery's header messages carry it: in the header's group,
    with the chain steps after the chord (next step last) in its ``chain`` option."""
    sig = dict(task)
    options = dict(sig.get("options") or {})
    options["group_id"] = group_id
    if chain:
        options["chain"] = chain
    sig["options"] = options
    return sig


def group_signature(tasks: list[dict[str, Any]], group_id: str) -> dict[str, Any]:
    return {"task": "celery.group", "args": [], "kwargs": {"tasks": list(tasks)}, "options": {"task_id": group_id},
            "subtask_type": "group", "immutable": False}


def chord_signature(header: list[dict[str, Any]], group_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A chord as a step of Celery's ``chain`` embed (``celery.chord``, its header a group)."""
    return {"task": "celery.chord", "args": [],
            "kwargs": {"kwargs": {}, "header": group_signature(header, group_id), "body": body},
            "options": {"task_id": group_id}, "subtask_type": "chord", "immutable": False}
