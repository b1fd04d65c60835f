"""Huey instance and tasks of the benchmark (imported by the client and by ``huey_consumer``).

RedisHuey named ``bench_huey`` (keys ``huey.*.bench_huey``; the name follows ``BENCH_KEY_PREFIX``)
with blocking dequeue (Huey's default for Redis). ``BENCH_HUEY_NOTIFY=1`` turns on Huey's result
notification (``notify_result``: the consumer pushes to a per-result list and a blocking ``get``
waits with BLPOP instead of polling).
"""
from __future__ import annotations

import os
import re
import time

from huey import RedisHuey
from redis import ConnectionPool

from benchmarks.settings import IO_SLEEP, KEY_PREFIX, REDIS_URL

NAME = re.sub(r"[^A-Za-z0-9_]", "", KEY_PREFIX) + "_huey"  # Huey keeps only these characters
NOTIFY_ENV = "BENCH_HUEY_NOTIFY"

# redis-py 8 caps a connection pool at 100 connections by default, fewer than 100 greenlets plus
# the scheduler and result writes need ("Too many connections" errors at -w 100), so give it room.
huey = RedisHuey(NAME, connection_pool=ConnectionPool.from_url(REDIS_URL, max_connections=1000),
                 notify_result=os.environ.get(NOTIFY_ENV) == "1")


@huey.task()
def noop(x: int) -> int:
    return x


@huey.task()
def io(x: int) -> int:
    time.sleep(IO_SLEEP)  # gevent's sleep under -k greenlet (huey_consumer monkey-patches first)
    return x
