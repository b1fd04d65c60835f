"""Raw queues of ``MemoryJobStore`` (the ``RawQueueStore`` family), as ``lua/raw_*.lua`` do them.

A raw queue is stored as ``(kind, container)``: a deque for "list", an
insertion-ordered dict (item -> None) for "set", and item -> score dicts for
"sorted" and "timed". Popped items wait in the worker's raw-inflight entry
(job id -> {queue, kind, item, score, at, n}) until ``raw_start`` turns them
into jobs or ``raw_recover`` gives them back.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Sequence

from .base import RawJob, RawPopped, RawQueueStore

if TYPE_CHECKING:
    from .memory_state import Channels, Expiring


class MemoryRawMixin(RawQueueStore):
    """Raw queue primitives; the state lives on ``MemoryJobStore``."""

    _lock: Any
    _channels: "Channels"
    _records: "Expiring[dict[str, str]]"
    _known: set[str]
    _paused: set[str]
    _inflight: dict[str, dict[str, float]]
    _raw: dict[str, tuple[str, Any]]
    _raw_inflight: dict[str, dict[str, dict[str, Any]]]

    def raw_push(self, queue: str, kind: str, items: Sequence[str] | Sequence[tuple[str, float]]) -> None:
        with self._lock:
            container = self._raw_container(queue, kind, create=bool(items))
            if not items:
                return
            for entry in items:
                if kind == "list":
                    container.append(entry)
                elif kind == "set":
                    container[entry] = None
                else:
                    item, score = entry  # type: ignore[misc]
                    container[item] = float(score)
            self._known.add(queue)
            self._channels.publish("notify", str(len(items)))

    def raw_remove(self, queue: str, kind: str, items: Sequence[str]) -> None:
        with self._lock:
            container = self._raw_container(queue, kind)
            for item in items:
                if kind == "list":
                    if item in container:
                        container.remove(item)
                else:
                    container.pop(item, None)
            self._drop_empty_raw(queue)

    def raw_empty(self, queue: str) -> None:
        with self._lock:
            self._raw.pop(queue, None)

    def raw_size(self, queue: str, kind: str, due_before: float | None = None) -> int:
        with self._lock:
            container = self._raw_container(queue, kind)
            if kind == "timed" and due_before is not None:
                return sum(1 for score in container.values() if score <= due_before)
            return len(container)

    def raw_items(self, queue: str, kind: str, skip: int = 0, limit: int = 20) -> list[str]:
        with self._lock:
            container = self._raw_container(queue, kind)
            if limit <= 0:
                return []
            if kind == "set":
                return list(container)[:limit]
            if kind == "list":
                return list(container)[skip:skip + limit]
            return [item for item, _ in _zset_order(container)][skip:skip + limit]

    def raw_pop(self, queue: str, kind: str, worker_id: str, job_ids: Sequence[str], now: float,
                pushback: float = 0.0) -> list[RawPopped]:
        with self._lock:
            container = self._raw_container(queue, kind)
            if not job_ids or queue in self._paused:
                return []
            n = len(job_ids)
            scores: list[float | None] = []
            if kind == "list":
                items = [container.popleft() for _ in range(min(n, len(container)))]
            elif kind == "set":
                items = list(container)[:n]
                for item in items:
                    del container[item]
            else:
                due = [(item, score) for item, score in _zset_order(container)
                       if kind == "sorted" or score <= now][:n]
                items = [item for item, _ in due]
                scores = [score for _, score in due]
                for item in items:
                    if kind == "timed" and pushback > 0:
                        container[item] = now + pushback
                    else:
                        del container[item]
            self._drop_empty_raw(queue)
            track = not (kind == "timed" and pushback > 0)
            popped = [RawPopped(job_id, item) for job_id, item in zip(job_ids, items)]
            if track and popped:
                held = self._raw_inflight.setdefault(worker_id, {})
                for i, entry in enumerate(popped):
                    held[entry.job_id] = {"queue": queue, "kind": kind, "item": entry.item,
                                          "score": scores[i] if scores else None, "at": now, "n": i + 1}
            return popped

    def raw_start(self, worker_id: str, now: float, jobs: Sequence[RawJob]) -> list[str]:
        written: list[str] = []
        with self._lock:
            held = self._raw_inflight.get(worker_id, {})
            for job in jobs:
                if job.tracked and held.pop(job.job_id, None) is None:
                    continue  # recovery gave the item back: it runs from there, once
                record = self._records.setdefault(job.job_id, dict)
                record.update(queue=job.queue, datequeued=repr(now), dateupdated=repr(now), **job.fields)
                if job.runnable:
                    record.update(status="started", worker=worker_id, datestarted=repr(now))
                    self._inflight.setdefault(worker_id, {})[job.job_id] = now
                if job.ttl > 0:
                    self._records.expire(job.job_id, job.ttl)
                self._known.add(job.queue)
                written.append(job.job_id)
            if not held:
                self._raw_inflight.pop(worker_id, None)
        return written

    def raw_holders(self) -> list[str]:
        with self._lock:
            return sorted(self._raw_inflight)

    def raw_recover(self, worker_id: str) -> int:
        with self._lock:
            entries = list(self._raw_inflight.pop(worker_id, {}).values())
            # Newest pop first, last item of a pop first: pushing each at the head rebuilds a
            # list queue's original order (as raw_recover.lua does).
            entries.sort(key=lambda e: (e["at"], e["n"]), reverse=True)
            for entry in entries:
                container = self._raw_container(entry["queue"], entry["kind"], create=True)
                if entry["kind"] == "list":
                    container.appendleft(entry["item"])
                elif entry["kind"] == "set":
                    container[entry["item"]] = None
                else:
                    container.setdefault(entry["item"], entry["score"])  # a newer score wins
            if entries:
                self._channels.publish("notify", str(len(entries)))
            return len(entries)

    # --- helpers ------------------------------------------------------------------

    def _raw_container(self, queue: str, kind: str, create: bool = False) -> Any:
        """The queue's container (stored only with ``create``); a name used with another kind is refused."""
        if kind not in self.RAW_KINDS:
            raise ValueError(f"unknown raw queue kind {kind!r} (one of {', '.join(self.RAW_KINDS)})")
        stored = self._raw.get(queue)
        if stored is None:
            stored = (kind, deque() if kind == "list" else {})
            if create:
                self._raw[queue] = stored
        elif stored[0] != kind and {stored[0], kind} != {"sorted", "timed"}:
            raise ValueError(f"raw queue {queue!r} holds {stored[0]!r} items, not {kind!r}")
        return stored[1]

    def _drop_empty_raw(self, queue: str) -> None:
        stored = self._raw.get(queue)
        if stored is not None and not stored[1]:
            del self._raw[queue]


def _zset_order(scores: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda pair: (pair[1], pair[0]))
