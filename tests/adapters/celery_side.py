"""A real Celery app (the ``celery`` package) with the shared wire tasks; run by ``celery -A ... worker``."""
from __future__ import annotations

import os
from typing import Any

from celery import Celery

from tests.adapters.wire_tasks import register


def make_app(broker: str, backend: str, queue: str, **settings: Any) -> Celery:
    app = Celery("wire-celery", broker=broker, backend=backend, set_as_current=False)
    app.conf.update(task_default_queue=queue, broker_connection_retry_on_startup=True,
                    worker_hijack_root_logger=False, **settings)
    app.wire_tasks = register(app.task)
    return app


def routing_settings(queue: str) -> dict[str, Any]:
    """Settings from $WIRE_QUEUE_TYPE (quorum) and $WIRE_EXCHANGE (the queue on its own topic exchange)."""
    settings: dict[str, Any] = {}
    if os.environ.get("WIRE_QUEUE_TYPE"):
        settings["task_default_queue_type"] = os.environ["WIRE_QUEUE_TYPE"]
    if os.environ.get("WIRE_EXCHANGE"):
        from kombu import Exchange, Queue
        settings["task_queues"] = [Queue(queue, Exchange(os.environ["WIRE_EXCHANGE"], type="topic"),
                                         routing_key="wire.tasks")]
    return settings


if os.environ.get("WIRE_BROKER"):
    app = make_app(os.environ["WIRE_BROKER"], os.environ["WIRE_BACKEND"], os.environ["WIRE_QUEUE"],
                   **routing_settings(os.environ["WIRE_QUEUE"]))
