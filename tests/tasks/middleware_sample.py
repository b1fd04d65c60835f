"""Middleware used by tests/test_middleware.py: records the hooks it sees in Redis."""
from __future__ import annotations

from typing import Any

from mrqcore.middleware import Middleware


class Recorder(Middleware):
    """Appends ``hook:detail`` to ``{prefix}test:middleware`` for the worker and job hooks."""

    def _push(self, runtime: Any, entry: str) -> None:
        runtime.store.client.rpush(runtime.config.redis_prefix + "test:middleware", entry)

    def worker_start(self, worker: Any) -> None:
        self._push(worker.runtime, "worker_start")

    def worker_stop(self, worker: Any) -> None:
        self._push(worker.runtime, "worker_stop")

    def before_perform(self, job: Any) -> None:
        self._push(job.runtime, f"before_perform:{job.task_path}")

    def after_perform(self, job: Any, status: str, result: Any, exc: BaseException | None) -> None:
        self._push(job.runtime, f"after_perform:{status}:{result}")


#: an instance, to show that a path may name one
recorder = Recorder()
not_middleware = object()
