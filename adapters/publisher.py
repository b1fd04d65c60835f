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
writes it. Chords and groups inside a chain, and chord headers, cannot be
written this way: ``UnsupportedOption`` says so.
"""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from kombu import Connection
from kombu.pools import producers

from .protocol import encode_body
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
        """Send ``call`` as a Celery message (or hold it, if it is a parked chain step)."""
        from mrqc.exceptions import UnsupportedOption
        parked = self._held()
        if call.options.get("park"):
            parked[call.task_id] = call
            return
        if call.meta.get("chord"):
            raise UnsupportedOption("chords are not published over the Celery wire yet; run them with "
                                    "celery_wire off")
        chain = self._chain(call.meta.get("chain_next"), parked)
        body = encode_body(call.args, call.kwargs, call.meta.get("link"), call.meta.get("link_error"), chain)
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

    def _chain(self, desc: Any, parked: dict[str, "PreparedCall"]) -> list[dict[str, Any]] | None:
        from mrqc.exceptions import UnsupportedOption
        steps: list[dict[str, Any]] = []
        while desc:
            if desc.get("kind") != "task" or desc.get("id") not in parked:
                raise UnsupportedOption("over the Celery wire a chain may hold only tasks (no group or chord)")
            step = parked.pop(desc["id"])
            steps.append(_signature(step, bool(desc.get("immutable"))))
            desc = step.meta.get("chain_next")
        steps.reverse()  # Celery pops the next step from the end
        return steps or None

    def close(self) -> None:
        self.connection.release()


def _signature(call: "PreparedCall", immutable: bool) -> dict[str, Any]:
    """A parked chain step as Celery's signature dict."""
    options: dict[str, Any] = {"task_id": call.task_id, "queue": call.queue}
    for key in ("link", "link_error"):
        if call.meta.get(key):
            options[key] = call.meta[key]
    return {"task": call.name, "args": list(call.args), "kwargs": dict(call.kwargs), "options": options,
            "subtask_type": None, "immutable": immutable, "chord_size": None}
