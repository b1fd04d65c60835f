"""Publishing mrqc calls as Celery protocol 2 messages (``celery_wire`` on), so Celery workers run them.

``mrqc.calling.send`` hands every prepared call of a wire app to
``Publisher.publish`` (the one seam, through ``mrqc.bridge.wire_publisher``).
The message is what Celery's own ``apply_async`` sends: the protocol 2
headers compat already builds for ``before_task_publish``, the body
``[args, kwargs, embed]`` (``callbacks``/``errbacks`` from ``link``/
``link_error``), ``correlation_id`` = the task id, published persistent to
the queue's exchange and routing key as Celery declares them
(``mrqc.adapters.routing``). A countdown or ETA travels in the ``eta`` header.

**Chains.** mrqc's canvas creates the later steps of a chain first, parked
(``park=True``), then sends the first step with ``chain_next``. Over the wire
the parked steps are held here (per thread, until the first step is sent)
and become the first message's ``chain`` embed, next step last, as Celery
writes it. A chord step becomes Celery's ``celery.chord`` signature (its
header a ``celery.group``), the steps after it following it in the embed; a
group, last in a chain, a ``celery.group`` signature.

**Chords.** mrqc's ``chord`` parks its body, then sends each header task with
``meta["chord"]``. Over the wire the body becomes the ``chord`` embed of every
header message (``mrqc.adapters.chords.body_signature``: in the header's
group, the chain steps after the chord in its ``chain`` option), the header
messages carry ``group`` and ``group_index``, and the chord's size is written
to the Redis result backend before the first one is sent, as Celery's
publisher does. So Celery workers, mrqc wire workers or both join it. With no
Redis ``result_backend`` a chord raises ``UnsupportedOption``.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any

from kombu import Connection
from kombu.pools import producers

from .chords import body_signature, chord_backend, chord_expires, chord_signature, group_signature
from .protocol import chord_header, encode_body, encode_headers
from .routing import broker_queue

if TYPE_CHECKING:
    from mrqc.app import Celery
    from mrqc.calling import PreparedCall

logger = logging.getLogger("mrqc.wire")

__all__ = ("Publisher",)


class Publisher:
    """The Celery-protocol publisher of one app (on its ``broker_url``)."""

    def __init__(self, app: "Celery") -> None:
        self.app = app
        self.connection = Connection(app.conf.broker_url,
                                     transport_options=dict(app.conf.broker_transport_options or {}))
        self._parked = threading.local()

    def publish(self, call: "PreparedCall", headers: dict[str, Any]) -> None:
        """Send ``call`` as a Celery message (or hold it, if it is a parked chain step or chord body)."""
        parked = self._held()
        if call.options.get("park"):
            parked[call.task_id] = call
            return
        chord = self._chord_body(call.meta["chord"], parked) if call.meta.get("chord") else None
        self._publish(call, headers, self._chain(call.meta.get("chain_next"), parked), chord)

    def _publish(self, call: "PreparedCall", headers: dict[str, Any], chain: list[dict[str, Any]] | None,
                 chord: dict[str, Any] | None) -> None:
        body = encode_body(call.args, call.kwargs, call.meta.get("link"), call.meta.get("link_error"), chain, chord)
        queue = broker_queue(self.app, call.queue)
        with producers[self.connection].acquire(block=True) as producer:
            producer.publish(body, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue],
                             serializer="json", headers=headers, correlation_id=call.task_id,
                             reply_to=call.meta.get("reply_to"), delivery_mode=2, retry=True)

    def _held(self) -> dict[str, "PreparedCall"]:
        held = getattr(self._parked, "calls", None)
        if held is None:
            held = self._parked.calls = {}
        return held

    def _chord_body(self, chord: dict[str, Any], parked: dict[str, "PreparedCall"]) -> dict[str, Any]:
        """The ``chord`` embed of a header message (the body's signature; built, and the chord's size
        written, at the first header message)."""
        from mrqc.exceptions import UnsupportedOption
        bodies = getattr(self._parked, "bodies", None)
        if bodies is None:
            bodies = self._parked.bodies = {}
        group_id, size, index = chord["id"], int(chord["size"]), int(chord["index"])
        sig = bodies.get(group_id)
        if sig is None:
            body_desc = _task_descriptor(chord.get("body"), f"chord {group_id}'s body")
            body = parked.pop(body_desc["id"], None)
            if body is None:
                raise UnsupportedOption(f"chord {group_id}: its body was not created in this process; over the "
                                        "Celery wire a chord is published whole (chord(...).apply_async())")
            backend = chord_backend(self.app, f"chord {group_id}")
            chain = self._chain(body.meta.get("chain_next"), parked)
            sig = bodies[group_id] = body_signature(_signature(body, bool(body_desc.get("immutable"))), group_id,
                                                    chain)
            backend.set_chord_size(group_id, size, chord_expires(self.app))
        if index >= size - 1:
            bodies.pop(group_id, None)
        return sig

    def _chain(self, desc: Any, parked: dict[str, "PreparedCall"]) -> list[dict[str, Any]] | None:
        """The ``chain`` embed of a chain's first message, from mrqc's ``chain_next`` descriptors."""
        from mrqc.exceptions import UnsupportedOption
        steps: list[dict[str, Any]] = []
        while desc:
            kind = desc.get("kind")
            if kind == "multi":  # a group, last in the chain: its members were created parked
                members = []
                for part in desc.get("parts") or ():
                    part = _task_descriptor(part, f"group {desc.get('group_id')}'s member")
                    member = parked.pop(part["id"], None)
                    if member is None or member.meta.get("chain_next"):
                        raise UnsupportedOption("over the Celery wire a group at the end of a chain holds tasks "
                                                "created with it (no chains inside it)")
                    members.append(_signature(member, bool(part.get("immutable"))))
                steps.append(group_signature(members, desc["group_id"]))
                break
            if kind == "chord":
                body_desc = _task_descriptor(desc.get("body"), f"chord {desc.get('group_id')}'s body")
                body = parked.pop(body_desc["id"], None)
                if body is None:
                    raise UnsupportedOption("over the Celery wire a chain's chord body must be created with it")
                steps.append(chord_signature(list(desc["header"]), desc["group_id"],
                                             body_signature(_signature(body, bool(body_desc.get("immutable"))),
                                                            desc["group_id"], None)))
                desc = body.meta.get("chain_next")
                continue
            if kind != "task" or desc.get("id") not in parked:
                raise UnsupportedOption(f"over the Celery wire a chain step must be a task, a chord or a final "
                                        f"group (got {kind!r})")
            step = parked.pop(desc["id"])
            steps.append(_signature(step, bool(desc.get("immutable"))))
            desc = step.meta.get("chain_next")
        steps.reverse()  # Celery pops the next step from the end
        return steps or None

    # --- Celery's canvas, applied from its signature dicts (a wire worker continuing a workflow) ---

    def send_signature(self, sig: dict[str, Any], args: Any = (), chain: list[dict[str, Any]] | None = None,
                       parent_id: str | None = None, root_id: str | None = None) -> None:
        """Apply Celery signature ``sig`` as Celery's canvas does: ``args`` (the previous result) first,
        ``chain`` (the steps after it, next last) carried on; a task, a chord or a group."""
        from mrqc.exceptions import UnsupportedOption
        kind = sig.get("subtask_type")
        if kind == "chord":
            self._send_chord(sig, args, chain, parent_id, root_id)
        elif kind == "group":
            if chain:
                raise UnsupportedOption("a group followed by more chain steps (Celery makes it a chord)")
            group_id = (sig.get("options") or {}).get("task_id") or str(uuid.uuid4())
            for index, member in enumerate((sig.get("kwargs") or {}).get("tasks") or ()):
                self._send_task(member, args, None, parent_id, root_id, group=(group_id, index))
        elif kind:
            raise UnsupportedOption(f"{sig.get('task')!r}: a {kind} is not applied over the Celery wire")
        else:
            self._send_task(sig, args, chain, parent_id, root_id)

    def _send_chord(self, sig: dict[str, Any], args: Any, chain: list[dict[str, Any]] | None,
                    parent_id: str | None, root_id: str | None) -> None:
        header, group_id, body = chord_header(sig)
        group_id = group_id or str(uuid.uuid4())
        body_chain = list(chain or ()) or None
        body_sig = body_signature(body, group_id, body_chain)
        if not header:  # Celery: an empty header calls the body at once with []
            self._send_task(body_sig, ([],), body_chain, parent_id, root_id)
            return
        chord_backend(self.app, f"chord {group_id}").set_chord_size(group_id, len(header), chord_expires(self.app))
        for index, member in enumerate(header):
            self._send_task(member, args, None, parent_id, root_id, group=(group_id, index), chord=body_sig)

    def _send_task(self, sig: dict[str, Any], args: Any, chain: list[dict[str, Any]] | None, parent_id: str | None,
                   root_id: str | None, group: tuple[str, int] | None = None,
                   chord: dict[str, Any] | None = None) -> None:
        from mrqc import calling
        opts = dict(sig.get("options") or {})
        call_args = list(sig.get("args") or ())
        if args and not sig.get("immutable"):
            call_args = list(args) + call_args
        chain = chain if chain is not None else opts.get("chain")
        options = {k: opts[k] for k in _SIGNATURE_OPTIONS if opts.get(k) is not None}
        if group is not None:
            options["group_id"], options["group_index"] = group
        options["parent_id"] = parent_id or opts.get("parent_id")
        options["root_id"] = root_id or opts.get("root_id")
        call = calling.prepare(self.app, sig["task"], call_args, sig.get("kwargs") or {}, **options)
        self._publish(call, encode_headers(call.name, call.task_id, call.meta, call.args, call.kwargs), chain, chord)

    def close(self) -> None:
        self.connection.release()


#: the options of a Celery signature that become the options of its call
_SIGNATURE_OPTIONS = ("task_id", "link", "link_error", "group_id", "group_index", "queue", "routing_key", "expires",
                      "countdown", "eta", "time_limit", "soft_time_limit", "shadow", "headers", "ignore_result",
                      "reply_to", "retries")


def _task_descriptor(desc: Any, what: str) -> dict[str, Any]:
    """``desc`` if it is mrqc's descriptor of one parked task (``mrqc.canvas_park``); else UnsupportedOption."""
    from mrqc.exceptions import UnsupportedOption
    if not isinstance(desc, dict) or desc.get("kind") != "task" or not desc.get("id"):
        kind = desc.get("kind") if isinstance(desc, dict) else type(desc).__name__
        raise UnsupportedOption(f"over the Celery wire {what} must be a task or a chain of tasks (got {kind!r}: "
                                "a group or a chord there is not published over the wire yet)")
    return desc


def _signature(call: "PreparedCall", immutable: bool) -> dict[str, Any]:
    """A parked chain step as Celery's signature dict."""
    options: dict[str, Any] = {"task_id": call.task_id, "queue": call.queue}
    for key in ("link", "link_error"):
        if call.meta.get(key):
            options[key] = call.meta[key]
    return {"task": call.name, "args": list(call.args), "kwargs": dict(call.kwargs), "options": options,
            "subtask_type": None, "immutable": immutable, "chord_size": None}
