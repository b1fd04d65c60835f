"""A real Celery app (the ``celery`` package) with the shared wire tasks; run by ``celery -A ... worker``."""
from __future__ import annotations

import os
from typing import Any

from celery import Celery

from tests.adapters.wire_env import routing_settings
from tests.adapters.wire_tasks import register


def make_app(broker: str, backend: str, queue: str, **settings: Any) -> Celery:
    app = Celery("wire-celery", broker=broker, backend=backend, set_as_current=False)
    app.conf.update(task_default_queue=queue, broker_connection_retry_on_startup=True,
                    worker_hijack_root_logger=False, **settings)
    app.wire_tasks = register(app.task)
    return app


if os.environ.get("WIRE_BROKER"):
    app = make_app(os.environ["WIRE_BROKER"], os.environ["WIRE_BACKEND"], os.environ["WIRE_QUEUE"],
                   **routing_settings(os.environ["WIRE_QUEUE"]))
