"""Where the shop's tasks write down what they did, so tests can count it.

Side effects go to Redis lists under ``$SHOP_EFFECTS_PREFIX`` (in the Redis at
``$SHOP_EFFECTS_URL``). This module knows nothing of the task queue: it is the
"database" of the sample shop.
"""
import json
import os
import time

import redis

_client = None


def client():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ.get("SHOP_EFFECTS_URL", "redis://127.0.0.1:6379/11"),
                                       decode_responses=True)
    return _client


def key(name):
    return os.environ.get("SHOP_EFFECTS_PREFIX", "shop-effects:") + name


def record(name, value=None):
    """Append ``value`` (JSON) to the list ``name``."""
    client().rpush(key(name), json.dumps(value))


def seen(name):
    """Everything recorded under ``name``, oldest first."""
    return [json.loads(v) for v in client().lrange(key(name), 0, -1)]


def count(name):
    return client().llen(key(name))


def bump(name):
    """Increment the counter ``name`` and return its new value."""
    return client().incr(key("counter:" + name))


def wait_until(condition, timeout=30.0, message="condition"):
    """Poll ``condition()`` until it is truthy; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.02)
