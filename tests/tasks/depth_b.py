"""Tasks for the scheduler, recovery and admin tests. They report through Redis, never through timing."""
from __future__ import annotations

import json

import gevent

from mrqcore.context import connections, get_current_job
from mrqcore.runtime import get_runtime
from mrqcore.task import Task


def _key(name: str) -> str:
    return get_runtime().config.redis_prefix + "test:" + name


class BlockFirstAttempt(Task):
    """First attempt: says it started, then blocks until the worker dies. Later attempts return."""

    def run(self, params):
        redis = connections.redis
        job = get_current_job()
        attempt = redis.incr(_key("attempts:" + job.id))
        redis.rpush(_key("started"), f"{job.id}:{attempt}")
        if attempt == 1:
            # Cooperative wait: SIGTERM's WorkerInterrupt gets in, SIGKILL ends the process.
            redis.blpop(_key("never-opened"), timeout=params.get("max_wait", 60))
            return {"attempt": attempt, "blocked": "gave up waiting"}
        return {"attempt": attempt}


class RecordRun(Task):
    """Records which scheduled due time this run belongs to."""

    def run(self, params):
        job = get_current_job()
        schedule = (job.data.get("meta") or {}).get("schedule") or {}
        connections.redis.rpush(_key("runs"), json.dumps({"entry": schedule.get("entry"),
                                                          "due": schedule.get("due"), "job": job.id}))
        gevent.idle()
        return schedule.get("due")


def count_metric(name, incr=1, **kwargs):
    """metric_hook: logs each scheduler claim and each recovery metric to Redis lists."""
    redis = get_runtime().store.client
    if name == "scheduler.queued":
        redis.rpush(_key("sched-queued"), json.dumps({"entry": kwargs.get("entry"), "due": kwargs.get("due")}))
    elif name.startswith("recovery."):
        redis.rpush(_key("recovery-metrics"), json.dumps({"name": name, "incr": incr, **kwargs}))
