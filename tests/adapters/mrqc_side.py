"""An mrqc app with ``celery_wire`` on and the shared wire tasks; run by ``mrqc worker -A ... --celery-wire``."""
from __future__ import annotations

import os
from typing import Any

from mrqc import Celery

from tests.adapters.wire_tasks import register


def make_app(broker: str, backend: str, queue: str, **settings: Any) -> Celery:
    app = Celery("wire-mrqc", broker=broker, backend=backend, celery_wire=True, set_as_current=False,
                 task_default_queue=queue, worker_concurrency=10, **settings)
    app.wire_tasks = register(app.task)
    return app


def routing_settings(queue: str) -> dict[str, Any]:
    """Settings from $WIRE_QUEUE_TYPE (quorum) and $WIRE_EXCHANGE (the queue on its own topic exchange)."""
    settings: dict[str, Any] = {}
    if os.environ.get("WIRE_VISIBILITY"):  # Redis transport: unacknowledged messages come back after this
        settings["broker_transport_options"] = {"visibility_timeout": float(os.environ["WIRE_VISIBILITY"])}
    if os.environ.get("WIRE_QUEUE_TYPE"):
        settings["task_default_queue_type"] = os.environ["WIRE_QUEUE_TYPE"]
    if os.environ.get("WIRE_EXCHANGE"):
        from kombu import Exchange, Queue
        settings["task_queues"] = [Queue(queue, Exchange(os.environ["WIRE_EXCHANGE"], type="topic"),
                                         routing_key="wire.tasks")]
    return settings


if os.environ.get("WIRE_BROKER"):
    app = make_app(os.environ["WIRE_BROKER"], os.environ["WIRE_BACKEND"], os.environ["WIRE_QUEUE"],
                   accept_content=os.environ.get("WIRE_ACCEPT", "json").split(","),
                   **routing_settings(os.environ["WIRE_QUEUE"]))
