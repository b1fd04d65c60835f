"""Queue settings both sides of the wire tests read from the environment (no Celery or mrqc import here)."""
from __future__ import annotations

import os
from typing import Any


def routing_settings(queue: str) -> dict[str, Any]:
    """Settings from $WIRE_QUEUE_TYPE (quorum), $WIRE_EXCHANGE (the queue on its own topic exchange) and
    $WIRE_KEYPREFIX (kombu's ``global_keyprefix`` on a Redis broker)."""
    settings: dict[str, Any] = {}
    if os.environ.get("WIRE_KEYPREFIX"):
        settings["broker_transport_options"] = {"global_keyprefix": os.environ["WIRE_KEYPREFIX"]}
    if os.environ.get("WIRE_QUEUE_TYPE"):
        settings["task_default_queue_type"] = os.environ["WIRE_QUEUE_TYPE"]
    if os.environ.get("WIRE_EXCHANGE"):
        from kombu import Exchange, Queue
        settings["task_queues"] = [Queue(queue, Exchange(os.environ["WIRE_EXCHANGE"], type="topic"),
                                         routing_key="wire.tasks")]
    return settings
