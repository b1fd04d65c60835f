"""The Celery app of ``tests/compat/test_cli_habits.py``: tasks that write down where and how they ran.

Queues ``habits-a`` (default) and ``habits-b`` (``where_b``'s route). Tasks
record into Redis lists under the test's key prefix (``MRQC_REDIS_PREFIX``),
never through timing: ``where`` its queue, worker name, pid and whether the
process is gevent-patched; ``hold`` how many ``hold`` calls run at once, and
it waits until the test releases it.
"""
from __future__ import annotations

import json
import os
import time

from mrqcore.context import connections
from mrqcore.runtime import get_runtime

from mrqc import Celery

app = Celery("habits", set_as_current=False)
app.conf.update(
    task_default_queue="habits-a",
    task_routes={"habits.where_b": {"queue": "habits-b"}},
    worker_concurrency=5,
    result_expires=600,
    beat_schedule={"tick": {"task": "habits.tick", "schedule": 0.5}},
    result_backend_transport_options={"password": "s3cret-value"},  # for `mrqc report` to censor
)


def key(name: str) -> str:
    return get_runtime().config.redis_prefix + "habits:" + name


def _where(request, tag):
    from gevent import monkey
    connections.redis.rpush(key("where"), json.dumps({
        "tag": tag, "queue": (request.delivery_info or {}).get("routing_key"), "worker": request.hostname,
        "pid": os.getpid(), "patched": monkey.is_module_patched("socket")}))
    return tag


@app.task(bind=True, name="habits.where")
def where(self, tag):
    return _where(self.request, tag)


@app.task(bind=True, name="habits.where_b")
def where_b(self, tag):
    return _where(self.request, tag)


@app.task(bind=True, name="habits.hold")
def hold(self, tag):
    redis = connections.redis
    running = redis.incr(key("running"))
    redis.rpush(key("held"), json.dumps({"tag": tag, "running": running, "pid": os.getpid()}))
    try:
        while not redis.get(key("release")):
            time.sleep(0.02)
    finally:
        redis.decr(key("running"))
    return tag


@app.task(name="habits.tick")
def tick():
    connections.redis.rpush(key("ticks"), "tick")
    return "tick"


@app.task(name="habits.add")
def add(x, y=0):
    return x + y


@app.task(name="habits.spaced", rate_limit="5/s")
def spaced(i):
    """Records its start on Redis's clock (the clock every worker shares)."""
    seconds, micros = connections.redis.time()
    connections.redis.rpush(key("spaced"), json.dumps({"i": i, "at": seconds + micros / 1e6, "pid": os.getpid()}))
    return i
