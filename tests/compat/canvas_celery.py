"""A real Celery app (the ``celery`` package) with the shared canvas tasks; ``celery -A ... worker`` runs it."""
from __future__ import annotations

import os
from typing import Any

from celery import Celery

from tests.compat.canvas_shared import register


def make_app(broker: str, queue: str) -> Celery:
    app = Celery("canvas-celery", broker=broker, backend=broker, set_as_current=False)
    app.conf.update(task_default_queue=queue, broker_connection_retry_on_startup=True,
                    worker_hijack_root_logger=False, result_expires=600,
                    broker_transport_options={"queue_order_strategy": "priority"})
    app.canvas_tasks = register(app)
    return app


if os.environ.get("CANVAS_CELERY_BROKER"):
    app = make_app(os.environ["CANVAS_CELERY_BROKER"], os.environ["CANVAS_QUEUE"])
