"""Huey instance and tasks of the benchmark (imported by the client and by ``huey_consumer``).

RedisHuey named ``bench_huey`` (keys ``huey.*.bench_huey``) with blocking dequeue (Huey's default
for Redis). ``BENCH_HUEY_NOTIFY=1`` turns on Huey's result notification (``notify_result``: the
consumer pushes to a per-result list and a blocking ``get`` waits with BLPOP instead of polling).
"""
from __future__ import annotations

import os
import time

from huey import RedisHuey

from benchmarks.settings import IO_SLEEP, REDIS_URL

NAME = "bench_huey"
NOTIFY_ENV = "BENCH_HUEY_NOTIFY"

huey = RedisHuey(NAME, url=REDIS_URL, notify_result=os.environ.get(NOTIFY_ENV) == "1")


@huey.task()
def noop(x: int) -> int:
    return x


@huey.task()
def io(x: int) -> int:
    time.sleep(IO_SLEEP)  # gevent's sleep under -k greenlet (huey_consumer monkey-patches first)
    return x
