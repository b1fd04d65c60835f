"""The tasks both sides of the wire tests run (the same names on a Celery app and an mrqc app).

``wire.record(key, n, side)`` appends ``"<n>"`` to the Redis list ``key`` each time it runs, so a
test counts runs exactly (the Redis is the tests' own, given in ``$WIRE_RUNS_REDIS``).
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable

import redis


class WireError(Exception):
    """The exception ``wire.fail`` raises; re-raised by type on the other side."""


_client: Any = None


def _runs() -> Any:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ.get("WIRE_RUNS_REDIS", "redis://127.0.0.1:6379/0"))
    return _client


def register(task: Callable[..., Any]) -> dict[str, Any]:
    """Declare the shared tasks with ``task`` (an app's ``task`` decorator); returns them by name."""

    @task(name="wire.add")
    def add(x: int, y: int) -> int:
        return x + y

    @task(name="wire.fail")
    def fail(message: str) -> None:
        raise WireError(message)

    @task(name="wire.record")
    def record(key: str, n: int, pause: float = 0.0) -> int:
        if pause:
            time.sleep(pause)
        pipe = _runs().pipeline()
        pipe.rpush(key, str(n))
        pipe.hincrby(key + ":sides", os.environ.get("WIRE_SIDE", "?"), 1)
        pipe.execute()
        return n

    @task(name="wire.where")
    def where() -> str:
        return os.environ.get("WIRE_SIDE", "?")

    @task(name="wire.spawn")
    def spawn() -> str:
        return add.delay(1, 2).id

    @task(name="wire.total")
    def total(values: list[int], key: str | None = None) -> int:
        """A chord body: the sum of the header's results (each run appended to ``key`` as ``total:<sum>``)."""
        if key:
            _runs().rpush(key, f"total:{sum(values)}")
        return sum(values)

    @task(name="wire.mark")
    def mark(key: str) -> None:
        """An errback (one parameter: sent as a task): appends ``errback`` to ``key``."""
        _runs().rpush(key, "errback")

    return {"add": add, "fail": fail, "record": record, "where": where, "spawn": spawn, "total": total,
            "mark": mark}
