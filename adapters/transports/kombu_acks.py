"""Grouped acknowledgements of a batch of kombu messages taken from one channel.

RabbitMQ: one ``basic.ack`` with ``multiple=True`` for the batch's last
delivery tag (tags grow on one channel, and every message of the batch is
settled). Redis (kombu's virtual transport): one pipeline removing the
batch's tags from ``unacked`` and ``unacked_index``, where kombu's own
``Message.ack`` sends one MULTI/EXEC per message; then kombu's in-memory
bookkeeping is settled as its ``QoS.ack`` does. Other transports: one ack
per message.
"""
from __future__ import annotations

from typing import Any, Sequence

__all__ = ("ack_all",)


def ack_all(messages: Sequence[Any]) -> None:
    """Acknowledge ``messages`` (all from one channel, in delivery order)."""
    if not messages:
        return
    channel = messages[-1].channel
    driver = channel.connection.client.transport.driver_type
    if driver == "amqp":
        messages[-1].ack(multiple=True)
        for message in messages[:-1]:
            message._state = "ACK"  # settled by the multiple ack (kombu tracks each message's state)
        return
    qos = getattr(channel, "qos", None)
    if driver == "redis" and hasattr(qos, "_remove_from_indices"):
        with qos.pipe_or_acquire() as pipe:
            for message in messages:
                qos._remove_from_indices(message.delivery_tag, pipe)
            pipe.execute()
        for message in messages:
            qos._quick_ack(message.delivery_tag)  # what kombu's base QoS.ack does after the Redis part
            message._state = "ACK"
        return
    for message in messages:
        message.ack()
