"""Workflow primitives of ``MemoryJobStore`` (the ``WorkflowStore`` family): held jobs, barriers,
small values, pub/sub.

Held jobs sit in the scheduled map at ``HOLD_DUE`` with status ``queued``;
releasing or failing one removes it from there first, which is what makes
each happen once. Barriers and values live in the store's ``_small`` map under
``("barrier", name)`` and ``("value", name)``, with their TTLs.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Mapping

from .base import HOLD_MIN, Subscription, WorkflowStore
from .memory_state import MemorySubscription

if TYPE_CHECKING:
    from .memory_state import Channels, Expiring


class MemoryWorkflowMixin(WorkflowStore):
    """Workflow primitives; the state lives on ``MemoryJobStore``."""

    _lock: Any
    _channels: "Channels"
    _records: "Expiring[dict[str, str]]"
    _small: "Expiring[Any]"
    _scheduled: dict[str, float]
    _queues: dict[str, deque[str]]
    _list_of: Any

    def release_held(self, job_id: str, now: float, fields: Mapping[str, str]) -> bool:
        with self._lock:
            record = self._take_held(job_id)
            if record is None:
                return False
            record.update(fields)
            record.update(datequeued=repr(now), dateupdated=repr(now))
            self._list_of(record["queue"], record).append(job_id)
            self._channels.publish("notify", "1")
            return True

    def fail_held(self, job_id: str, now: float, status: str, fields: Mapping[str, str], ttl: int) -> bool:
        with self._lock:
            record = self._take_held(job_id)
            if record is None:
                return False
            record.update(status=status, datedone=repr(now), dateupdated=repr(now))
            record.update(fields)
            if ttl > 0:
                self._records.expire(job_id, ttl)
            self._channels.publish(("done", job_id), status)
            return True

    def barrier_add(self, barrier: str, index: int, value: str, size: int, ttl: int) -> dict[int, str] | None:
        with self._lock:
            parts = self._small.setdefault(("barrier", barrier), dict)
            parts.setdefault(int(index), value)  # a part recorded twice counts once
            if ttl > 0:
                self._small.expire(("barrier", barrier), ttl)
            return dict(parts) if len(parts) >= size else None

    def set_value(self, name: str, value: str, ttl: int | None = None) -> None:
        with self._lock:
            self._small.set(("value", name), value, ttl if ttl and ttl > 0 else None)

    def get_value(self, name: str) -> str | None:
        with self._lock:
            return self._small.get(("value", name))

    def delete_value(self, name: str) -> None:
        with self._lock:
            self._small.pop(("value", name))

    def publish(self, channel: str, message: str) -> int:
        with self._lock:
            return self._channels.publish(("channel", channel), message)

    def subscribe(self, channel: str) -> Subscription:
        with self._lock:
            return MemorySubscription(self._channels.subscribe(("channel", channel)))

    def _take_held(self, job_id: str) -> dict[str, str] | None:
        """Remove a held job from the scheduled map and return its record; None if it is not held."""
        due = self._scheduled.get(job_id)
        record = self._records.get(job_id)
        if due is None or due < HOLD_MIN or record is None or record.get("status") != "queued":
            return None
        del self._scheduled[job_id]
        return record
