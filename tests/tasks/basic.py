"""Tasks used by the core tests. They report what they see through Redis, never through timing."""
from __future__ import annotations

import gevent

from mrqcore.context import (abort_current_job, connections, get_current_job, log, retry_current_job,
                             run_task, set_current_job_progress)
from mrqcore.task import Task


def _key(name: str) -> str:
    from mrqcore.runtime import get_runtime
    return get_runtime().config.redis_prefix + "test:" + name


class Add(Task):
    def run(self, params):
        log.info("adding %s and %s", params["a"], params["b"])
        return params["a"] + params["b"]


class Echo(Task):
    def run(self, params):
        return params


class Fail(Task):
    def run(self, params):
        raise ValueError(params.get("message", "boom"))


class SwallowAll(Task):
    """Catches every Exception: interrupts must still get through."""

    def run(self, params):
        try:
            if params.get("do") == "abort":
                abort_current_job()
            retry_current_job(delay=params.get("delay", 0), max_retries=params.get("max_retries", 3))
        except Exception:  # noqa: BLE001 - the point of the test
            return "swallowed"


class Abort(Task):
    def run(self, params):
        abort_current_job()


class Retry(Task):
    """Retries until retry_count reaches params['succeed_after'] (or forever)."""

    def run(self, params):
        job = get_current_job()
        connections.redis.rpush(_key("retry-seen:" + job.id), f"{job.data['queue']}:{job.retry_count}")
        if params.get("succeed_after") is not None and job.retry_count >= params["succeed_after"]:
            return job.retry_count
        retry_current_job(delay=params.get("delay", 0), max_retries=params.get("max_retries"),
                          queue=params.get("queue"))


class Sleep(Task):
    """Blocks (cooperatively) until told to go, recording that it started."""

    def run(self, params):
        redis = connections.redis
        job = get_current_job()
        redis.rpush(_key("started"), job.id)
        if params.get("gate"):
            # Wait until the test opens the gate; BLPOP yields to other greenlets.
            redis.blpop(_key("gate:" + params["gate"]), timeout=params.get("max_wait", 30))
        else:
            gevent.sleep(params.get("seconds", 0))
        redis.rpush(_key("finished"), job.id)
        return "slept"


class Concurrency(Task):
    """Counts how many of these run at the same time; the peak is kept in Redis."""

    def run(self, params):
        redis = connections.redis
        now = redis.incr(_key("running"))
        redis.eval("local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
                   "if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end",
                   1, _key("peak"), now)
        # Hold the slot until `expect` jobs are in at once (or give up after max_wait).
        deadline = params.get("max_wait", 20)
        waited = 0.0
        while int(redis.get(_key("peak")) or 0) < params["expect"] and waited < deadline:
            gevent.sleep(0.01)
            waited += 0.01
        redis.decr(_key("running"))
        return now


class RecordOrder(Task):
    def run(self, params):
        connections.redis.rpush(_key("order"), params["name"])
        return params["name"]


class Progress(Task):
    def run(self, params):
        set_current_job_progress(0.5)
        return get_current_job().data.get("progress")


class SubTask(Task):
    def run(self, params):
        return {"main": self.is_main_task, "sum": run_task("tests.tasks.basic.Add", {"a": 1, "b": params["b"]}),
                "job": get_current_job().id}


class BadResult(Task):
    def run(self, params):
        return {"when": {1, 2}}


class Spin(Task):
    """Runs past its timeout while blocked in gevent.sleep."""

    timeout = 1

    def run(self, params):
        connections.redis.rpush(_key("started"), get_current_job().id)
        gevent.sleep(params.get("seconds", 30))
        return "not reached"


NOT_A_TASK = "just a string"


class NotATask:
    def run(self, params):
        return 1


import contextvars  # noqa: E402

_TASK_LOCAL = contextvars.ContextVar("task_local", default="unset")


class ContextLeak(Task):
    """Returns what an earlier job left in a context variable, then sets its own."""

    def run(self, params):
        seen = _TASK_LOCAL.get()
        _TASK_LOCAL.set(params["mark"])
        return seen
