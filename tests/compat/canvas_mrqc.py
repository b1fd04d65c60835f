"""An mrqc app with the shared canvas tasks; ``mrqc worker -A tests.compat.canvas_mrqc`` runs it."""
from __future__ import annotations

import os

from mrqc import Celery

from tests.compat.canvas_shared import register


def make_app(redis_url: str, prefix: str, queue: str) -> Celery:
    app = Celery("canvas-mrqc", broker=redis_url, set_as_current=False, task_default_queue=queue,
                 broker_transport_options={"global_keyprefix": prefix}, worker_concurrency=10,
                 result_expires=600)
    app.canvas_tasks = register(app)
    return app


if os.environ.get("CANVAS_MRQC_REDIS"):
    app = make_app(os.environ["CANVAS_MRQC_REDIS"], os.environ["CANVAS_MRQC_PREFIX"], os.environ["CANVAS_QUEUE"])
