"""Celery app of the benchmark (imported by the client and by ``celery -A ... worker``).

Redis broker and Redis result backend in the benchmark database, every key under ``bench:celery:``
(kombu's and the backend's ``global_keyprefix``). Otherwise Celery's defaults: JSON, prefetch
multiplier 4, early acks.
"""
from __future__ import annotations

import time

from celery import Celery

from benchmarks.settings import IO_SLEEP, KEY_PREFIX, REDIS_URL

PREFIX = f"{KEY_PREFIX}celery:"

app = Celery("bench", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    broker_transport_options={"global_keyprefix": PREFIX},
    result_backend_transport_options={"global_keyprefix": PREFIX},
    broker_connection_retry_on_startup=True,
    task_default_queue="bench",
    result_expires=3600,
)


@app.task(name="bench.noop")
def noop(x: int) -> int:
    return x


@app.task(name="bench.io")
def io(x: int) -> int:
    time.sleep(IO_SLEEP)  # gevent's sleep under -P gevent (the worker monkey-patches first)
    return x
