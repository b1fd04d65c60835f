"""The Celery app the compat tests run under ``mrqc worker -A tests.compat.proj``.

No broker URL: the worker and the tests get Redis and the key prefix from the
test fixtures (MRQC_* variables / the ``runtime`` fixture).
"""
from mrqc import Celery

app = Celery("tests.compat.proj", include=["tests.compat.proj_tasks"])
app.conf.update(
    task_default_queue="compat",
    task_routes={"tests.compat.proj_tasks.routed": {"queue": "compat-routed"}},
    worker_concurrency=20,
    result_expires=3600,
)
