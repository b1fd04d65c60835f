"""Broker queues as Celery declares them, so RabbitMQ accepts both sides' declarations.

A queue named in ``task_queues`` as a kombu ``Queue`` is used as given (its
exchange, routing key and ``queue_arguments``). Any other queue is declared as
Celery declares a queue it creates: ``Queue(name, Exchange(name, "direct"),
routing_key=name)``, with ``x-queue-type: quorum`` when
``task_default_queue_type`` is ``"quorum"``. RabbitMQ refuses a second
declaration with other arguments, so these must match Celery's exactly.

Dead letters (see ``mrqc.adapters.consumer``) go to ``<queue>.dead``, a
classic durable queue bound to the default exchange.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from kombu import Exchange, Queue

if TYPE_CHECKING:
    from mrqc.app import Celery

__all__ = ("broker_queue", "broker_queues", "dead_letter_queue", "DEAD_SUFFIX")

#: suffix of a queue's dead-letter queue
DEAD_SUFFIX = ".dead"


def _declared(app: "Celery") -> dict[str, Queue]:
    return {q.name: q for q in (app.conf.task_queues or ()) if isinstance(q, Queue)}


def broker_queue(app: "Celery", name: str) -> Queue:
    """The kombu Queue Celery would declare for queue ``name`` of ``app``."""
    declared = _declared(app).get(name)
    if declared is not None:
        return declared
    arguments: dict[str, Any] | None = None
    if (app.conf.get("task_default_queue_type") or "classic") == "quorum":
        arguments = {"x-queue-type": "quorum"}
    return Queue(name, Exchange(name, type="direct"), routing_key=name, queue_arguments=arguments)


def broker_queues(app: "Celery", names: Iterable[str]) -> list[Queue]:
    return [broker_queue(app, name) for name in names]


def dead_letter_queue(name: str) -> Queue:
    """``<name>.dead``: where the wire puts the messages of queue ``name`` it cannot run."""
    return Queue(name + DEAD_SUFFIX, Exchange(""), routing_key=name + DEAD_SUFFIX, durable=True)
