"""``mrqc.worker.state``: Celery's worker-state sets, read from the store.

In Celery these are sets in the worker process' memory (``successful_requests``
holds the ids of the requests that process finished successfully), which a
test can read only when the worker runs inside the test process. An mrqc
worker is usually another process, so here each name is a read-only view that
answers ``task_id in view`` from the job's record in the current app's store:

============================  ========================================
``successful_requests``       the job finished successfully
``active_requests``           a worker is running the job now
``revoked``                   the job was revoked (cancelled)
``total_count``               not kept: an empty mapping
============================  ========================================

They are not iterable (the store is not scanned).
"""
from __future__ import annotations

from typing import Any

__all__ = ["successful_requests", "active_requests", "revoked", "total_count", "RequestView"]


class RequestView:
    """``task_id in view``: whether the job's record has one of ``statuses`` (current app's store)."""

    def __init__(self, name: str, statuses: frozenset[str]) -> None:
        self.name = name
        self.statuses = statuses

    def __contains__(self, task_id: object) -> bool:
        if not isinstance(task_id, str):
            return False
        from .._state import get_current_app
        record = get_current_app().runtime.store.get(task_id, ["status"])
        return bool(record) and record.get("status") in self.statuses

    def __iter__(self) -> Any:
        raise TypeError(f"mrqc.worker.state.{self.name} answers `id in {self.name}` only: it reads each job's "
                        "record from the store and cannot list them; use `mrqc jobs` to list jobs")

    def __repr__(self) -> str:
        return f"<mrqc.worker.state.{self.name}: jobs with status in {sorted(self.statuses)}>"


successful_requests = RequestView("successful_requests", frozenset({"success"}))
active_requests = RequestView("active_requests", frozenset({"started"}))
revoked = RequestView("revoked", frozenset({"cancel"}))
total_count: dict[str, int] = {}
