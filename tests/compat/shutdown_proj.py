"""The Celery app of ``tests/compat/test_shutdown.py``: a task that runs until the test opens its gate.

``gated(tag)`` counts its attempts and records each start in Redis (under the
test's key prefix), then waits cooperatively (``BLPOP``, so an interrupt gets
in) for ``gate:<tag>``; it records its finish. ``worker_soft_shutdown_timeout``
comes from ``SHUTDOWN_TEST_SOFT_TIMEOUT`` (default: unset, as in Celery).
"""
from __future__ import annotations

import os

from mrqcore.context import connections
from mrqcore.runtime import get_runtime

from mrqc import Celery

app = Celery("shutdown", set_as_current=False)
app.conf.update(task_default_queue="shutdown", worker_concurrency=2, result_expires=600)
if os.environ.get("SHUTDOWN_TEST_SOFT_TIMEOUT"):
    app.conf.worker_soft_shutdown_timeout = float(os.environ["SHUTDOWN_TEST_SOFT_TIMEOUT"])


def key(name: str) -> str:
    return get_runtime().config.redis_prefix + "shutdown:" + name


@app.task(name="shutdown.gated")
def gated(tag: str) -> str:
    redis = connections.redis
    attempt = redis.incr(key("attempts:" + tag))
    redis.rpush(key("started"), f"{tag}:{attempt}")
    redis.blpop(key("gate:" + tag), timeout=60)
    redis.rpush(key("finished"), f"{tag}:{attempt}")
    return f"{tag}:{attempt}"
