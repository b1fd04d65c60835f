"""``app.amqp``: the part of Celery's ``app.amqp`` that code reads without sending through kombu.

mrqc publishes through its Redis store, not kombu (docs/celery-compat.md), so
there is no ``Producer``/``producer_pool`` here: ``app.amqp.queues`` is the
name -> queue mapping of the queues the app declares (the default queue,
``task_queues``, task and route queues: what ``mrqc worker -A`` serves).
"""
from __future__ import annotations

from typing import Any

__all__ = ["AMQP"]


class AMQP:
    """``app.amqp``: ``queues`` (name -> name) and ``default_queue``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def queues(self) -> dict[str, str]:
        return {name: name for name in self.app._worker_queues()}

    @property
    def default_queue(self) -> str:
        return self.app.default_queue()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from .exceptions import UnsupportedOption
        raise UnsupportedOption(f"app.amqp.{name} is not supported by mrqc: it publishes through its Redis store, "
                                "not kombu; use task.apply_async()/app.send_task()")
