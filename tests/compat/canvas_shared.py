"""The tasks the canvas side-by-side tests run, declared on a real Celery app and on an mrqc app.

``register(app)`` declares them with ``app.task`` under fixed names (``canvas.add``...), so the
same signatures run on a real ``celery worker`` and on ``mrqc worker -A``; the side modules
(``canvas_celery``, ``canvas_mrqc``) build one app each from ``$CANVAS_*`` variables.
"""
from __future__ import annotations

import os
import time
from typing import Any

import redis

_client: Any = None


class CanvasError(Exception):
    """What ``canvas.fail`` raises."""


def _runs() -> Any:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ.get("CANVAS_RUNS_REDIS", "redis://127.0.0.1:6379/0"))
    return _client


def register(app: Any) -> dict[str, Any]:
    """Declare the shared tasks on ``app``; returns them by short name."""
    task = app.task

    @task(name="canvas.add")
    def add(x: Any, y: Any) -> Any:
        return x + y

    @task(name="canvas.mul")
    def mul(x: Any, y: Any) -> Any:
        return x * y

    @task(name="canvas.xsum")
    def xsum(numbers: Any) -> Any:
        return sum(_flatten(numbers))

    @task(name="canvas.identity")
    def identity(x: Any) -> Any:
        return x

    @task(name="canvas.fail")
    def fail(*args: Any) -> None:
        raise CanvasError("canvas.fail")

    @task(name="canvas.record")
    def record(value: Any, key: str) -> Any:
        """A link callback: records the value it was given under ``key``."""
        _runs().rpush(key, repr(value))
        return value

    @task(bind=True, name="canvas.replace_with")
    def replace_with(self: Any, kind: str, x: Any) -> Any:
        """Replace itself by ``kind``: a task, a chain, or a group, built from ``x``."""
        if kind == "task":
            return self.replace(add.s(x, 100))
        if kind == "chain":
            return self.replace(add.s(x, 1) | mul.s(10))
        if kind == "group":
            return self.replace(app_group(app)([add.s(x, 1), add.s(x, 2)]))
        if kind == "fail":
            return self.replace(fail.si(x))
        raise ValueError(kind)

    @task(bind=True, name="canvas.grow_chord")
    def grow_chord(self: Any, x: Any) -> Any:
        """A chord header task that adds one more header task (``add(x, 1000)``) to its chord."""
        self.add_to_chord(add.s(x, 1000))
        return x

    @task(bind=True, name="canvas.wait_abort", base=_abortable_base(app))
    def wait_abort(self: Any, key: str, seconds: float) -> str:
        """Poll ``is_aborted()`` until it is true (records "aborted") or ``seconds`` pass."""
        _runs().rpush(key, "started")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.is_aborted():
                _runs().rpush(key, "aborted")
                return "aborted"
            time.sleep(0.05)
        return "finished"

    @task(name="canvas.order")
    def order(key: str, value: Any) -> Any:
        _runs().rpush(key, str(value))
        return value

    @task(name="canvas.order_low", priority=7)
    def order_low(key: str, value: Any) -> Any:
        """``canvas.order`` declared with a priority of its own."""
        _runs().rpush(key, str(value))
        return value

    return {"order_low": order_low, "add": add, "mul": mul, "xsum": xsum, "identity": identity, "fail": fail, "record": record,
            "replace_with": replace_with, "grow_chord": grow_chord, "wait_abort": wait_abort, "order": order}


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [x for item in value for x in _flatten(item)]
    return [value]


def app_group(app: Any) -> Any:
    module = "celery" if type(app).__module__.startswith("celery") else "mrqc"
    return __import__(module, fromlist=["group"]).group


def _abortable_base(app: Any) -> Any:
    if type(app).__module__.startswith("celery"):
        from celery.contrib.abortable import AbortableTask
        return AbortableTask
    from mrqc.contrib.abortable import AbortableTask
    return AbortableTask
