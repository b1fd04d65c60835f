"""Tasks, job factories and hooks for the raw queue, queue control, subpool and helpers tests.

They report what they see through Redis lists under the test's prefix, never through timing.
"""
from __future__ import annotations

import time

import gevent

from mrqcore.context import connections, get_current_job, subpool_map
from mrqcore.task import Task


def key(name: str) -> str:
    from mrqcore.runtime import get_runtime
    return get_runtime().config.redis_prefix + "test:" + name


def _hold_while_flagged() -> None:
    """Block (cooperatively) while the test keeps the 'hold' key set (30 s at most)."""
    redis = connections.redis
    deadline = time.monotonic() + 30
    while redis.exists(key("hold")) and time.monotonic() < deadline:
        gevent.sleep(0.05)


# --- job factories ---------------------------------------------------------------------


def item_to_job(item: str) -> dict:
    return {"path": "tests.tasks.depth_a.RecordItem", "params": {"item": item}}


def failing_item_to_job(item: str) -> dict:
    if item.startswith("bad"):
        raise ValueError(f"cannot make a job of {item!r}")
    return item_to_job(item)


def gated_factory(item: str) -> dict:
    """Blocks the worker inside the factory, once, on the item named by the 'block-on' key."""
    redis = connections.redis
    if item == redis.get(key("block-on")) and redis.set(key("factory-blocked"), item, nx=True):
        redis.rpush(key("factory-entered"), item)
        time.sleep(60)  # monkey-patched: the worker's heartbeat goes on; the test SIGKILLs it
    return {"path": "tests.tasks.depth_a.HeldItem", "params": {"item": item}}


# --- tasks -------------------------------------------------------------------------------


class RecordItem(Task):
    """Appends its item to the 'done' list; fails when the item starts with 'fail'."""

    def run(self, params):
        item = params["item"]
        job = get_current_job()
        connections.redis.rpush(key("done"), item)
        connections.redis.rpush(key("done-jobs"), job.id)
        if item.startswith("fail"):
            raise ValueError(f"told to fail on {item!r}")
        return item


class HeldItem(Task):
    """Records that it started, blocks while 'hold' is set, then records its item as done."""

    def run(self, params):
        redis = connections.redis
        redis.rpush(key("started"), params["item"])
        _hold_while_flagged()
        redis.rpush(key("done"), params["item"])
        return params["item"]


class Limited(Task):
    """max_concurrency 2; counts how many run at once (peak kept in Redis), holds while 'hold' is set."""

    max_concurrency = 2

    def run(self, params):
        redis = connections.redis
        now = redis.incr(key("running"))
        redis.eval("local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
                   "if tonumber(ARGV[1]) > v then redis.call('SET', KEYS[1], ARGV[1]) end",
                   1, key("peak"), now)
        redis.rpush(key("started"), params["n"])
        # Hold until the test hands out a token for this run (one token = one job may end).
        redis.blpop(key("tokens"), timeout=params.get("max_wait", 30))
        redis.decr(key("running"))
        redis.rpush(key("done"), params["n"])
        return params["n"]


class SubpoolJobs(Task):
    """Runs subpool_map over params['items']; each call reports the job it sees."""

    def run(self, params):
        job_id = get_current_job().id

        def work(item):
            gevent.sleep(0.01 * (len(params["items"]) - item))  # later items finish first
            seen = get_current_job()
            return {"item": item, "job": seen.id if seen else None}

        results = subpool_map(params.get("pool", 3), work, params["items"])
        return {"job": job_id, "results": results}


class SubpoolFails(Task):
    """subpool_map where one call raises: the job fails with that exception."""

    def run(self, params):
        def work(item):
            if item == 2:
                raise KeyError("item 2 is bad")
            gevent.sleep(0.01)
            return item

        return subpool_map(2, work, range(5))


# --- metric hook ---------------------------------------------------------------------------


def record_metric(name: str, incr: int = 1, **kwargs) -> None:
    queue = kwargs.get("queue")
    connections.redis.rpush(key("metrics"), f"{name}|{incr}|{queue}")
