"""An mrqc app with ``celery_wire`` on and the shared wire tasks; run by ``mrqc worker -A ... --celery-wire``."""
from __future__ import annotations

import os
from typing import Any

from mrqc import Celery

from tests.adapters.wire_env import routing_settings as shared_routing_settings
from tests.adapters.wire_tasks import register


def make_app(broker: str, backend: str, queue: str, **settings: Any) -> Celery:
    app = Celery("wire-mrqc", broker=broker, backend=backend or None, celery_wire=True, set_as_current=False,
                 task_default_queue=queue, worker_concurrency=10, **settings)
    app.wire_tasks = register(app.task)
    return app


def routing_settings(queue: str) -> dict[str, Any]:
    """The shared queue settings, plus $WIRE_VISIBILITY (the Redis transport's visibility timeout)."""
    settings = shared_routing_settings(queue)
    if os.environ.get("WIRE_VISIBILITY"):  # Redis transport: unacknowledged messages come back after this
        settings.setdefault("broker_transport_options", {})["visibility_timeout"] = float(os.environ["WIRE_VISIBILITY"])
    return settings


if os.environ.get("WIRE_BROKER"):
    app = make_app(os.environ["WIRE_BROKER"], os.environ["WIRE_BACKEND"], os.environ["WIRE_QUEUE"],
                   accept_content=os.environ.get("WIRE_ACCEPT", "json").split(","),
                   **routing_settings(os.environ["WIRE_QUEUE"]))
