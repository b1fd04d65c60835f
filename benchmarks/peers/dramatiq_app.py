"""Dramatiq broker and actors of the benchmark (imported by the client and by the ``dramatiq`` CLI).

RedisBroker under namespace ``bench:dramatiq``, the Results middleware with a Redis backend under
``bench:dramatiq-results:`` (results are opt-in per actor in Dramatiq: ``store_results=True``).
"""
from __future__ import annotations

import time

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend

from benchmarks.settings import IO_SLEEP, KEY_PREFIX, REDIS_URL

# redis-py 8 caps a connection pool at 100 connections by default; 100 greenlets per process, the
# consumer threads and the result writers need more (at 100 some enqueues failed with "Too many
# connections"), so both pools get room.
MAX_CONNECTIONS = 1000
broker = RedisBroker(client=redis.Redis(connection_pool=redis.ConnectionPool.from_url(
    REDIS_URL, max_connections=MAX_CONNECTIONS)), namespace=f"{KEY_PREFIX}dramatiq")
# Readable result keys (<namespace>:<queue>:<actor>:<id>) instead of MD5 hashes, so that cleanup
# can find them by prefix.
backend = RedisBackend(client=redis.Redis(connection_pool=redis.ConnectionPool.from_url(
    REDIS_URL, max_connections=MAX_CONNECTIONS)), namespace=f"{KEY_PREFIX}dramatiq-results",
    use_namespace_prefix_keys=True)
broker.add_middleware(Results(backend=backend))
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="bench", store_results=True)
def noop(x: int) -> int:
    return x


@dramatiq.actor(queue_name="bench", store_results=True)
def io(x: int) -> int:
    time.sleep(IO_SLEEP)  # a plain sleep in worker threads; gevent's under dramatiq-gevent
    return x
