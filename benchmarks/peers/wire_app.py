"""The wire benchmark's app: the same task on a real Celery app and on an mrqc app with ``celery_wire``.

``$BENCH_WIRE_SIDE`` picks the side (``celery``: the ``celery`` package; ``mrqc``: ``mrqc.Celery``),
``$BENCH_WIRE_BROKER`` the broker, ``$BENCH_WIRE_QUEUE`` the queue; results go to the benchmark Redis.
"""
from __future__ import annotations

import os
from typing import Any

from benchmarks.settings import REDIS_URL


def make_app(side: str, broker: str, queue: str) -> Any:
    if side == "mrqc":
        from mrqc import Celery
        app = Celery("bench-wire", broker=broker, backend=REDIS_URL, celery_wire=True, set_as_current=False,
                     task_default_queue=queue, result_expires=3600)
    else:
        from celery import Celery
        app = Celery("bench-wire", broker=broker, backend=REDIS_URL, set_as_current=False)
        app.conf.update(task_default_queue=queue, result_expires=3600, broker_connection_retry_on_startup=True)

    @app.task(name="bench.wire.noop")
    def noop(x: int) -> int:
        return x

    return app


if os.environ.get("BENCH_WIRE_SIDE"):
    app = make_app(os.environ["BENCH_WIRE_SIDE"], os.environ["BENCH_WIRE_BROKER"], os.environ["BENCH_WIRE_QUEUE"])
