"""Where the newsroom's tasks write down what they did (its "database"), so tests can count it.

Redis lists under ``$NEWSROOM_EFFECTS_PREFIX`` in the Redis at ``$NEWSROOM_BROKER_URL``.
This module knows nothing of the task queue.
"""
import json
import os

import redis

_client = None


def client():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ.get("NEWSROOM_BROKER_URL", "redis://127.0.0.1:6379/12"),
                                       decode_responses=True)
    return _client


def key(name):
    return os.environ.get("NEWSROOM_EFFECTS_PREFIX", "newsroom-effects:") + name


def record(name, value=None):
    client().rpush(key(name), json.dumps(value))


def seen(name):
    return [json.loads(v) for v in client().lrange(key(name), 0, -1)]
