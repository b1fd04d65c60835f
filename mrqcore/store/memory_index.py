"""The memory store's job index: the ``job_index_*`` primitives, read from the records themselves.

Redis keeps separate sorted sets written by the hot-path scripts (``redis_index.py``);
here the records are already in process memory, so each call sorts them: every job by
``datequeued`` (set by enqueue and requeue), or the jobs in one status by the time they
reached it (``datedone``, else ``dateupdated``). Nothing can go stale, so ``prune``
has nothing to drop. O(N log N) per call: fine for tests and eager mode, which is
what this store is for.
"""
from __future__ import annotations

import bisect
from typing import Any, Sequence


class MemoryJobIndex:
    """Mixin for ``MemoryJobStore`` (needs ``_lock`` and ``_records``)."""

    _lock: Any
    _records: Any

    def _indexed(self, status: str | None) -> list[tuple[float, str]]:
        """(time, id) of the index's entries, oldest first. Call with the lock held."""
        out = []
        for key in self._records.keys():
            record = self._records.get(key)
            if record is None:
                continue
            if status is None:
                when = record.get("datequeued")
            elif record.get("status") == status:
                when = record.get("datedone") or record.get("dateupdated")
            else:
                continue
            try:
                out.append((float(when or 0.0), str(key)))
            except ValueError:
                out.append((0.0, str(key)))
        out.sort()
        return out

    def job_index_page(self, status: str | None, offset: int, count: int,
                       fields: Sequence[str]) -> tuple[list[tuple[str, dict[str, str]]], int | None]:
        offset, count = max(0, int(offset)), int(count)
        if count <= 0:
            return [], offset
        with self._lock:
            entries = self._indexed(status)[::-1][offset:offset + count]
            rows = []
            for _, job_id in entries:
                record = self._records.get(job_id) or {}
                rows.append((job_id, {f: record[f] for f in fields if f in record}))
        if not rows:
            return [], None
        return rows, (None if len(rows) < count else offset + len(rows))

    def job_index_counts(self, status: str | None, edges: Sequence[float]) -> list[int]:
        with self._lock:
            times = [when for when, _ in self._indexed(status)]
        return [bisect.bisect_left(times, float(high)) - bisect.bisect_left(times, float(low))
                for low, high in zip(edges, edges[1:])]

    def job_index_size(self, status: str | None) -> int:
        with self._lock:
            return len(self._indexed(status))

    def job_index_prune(self, status: str | None, count: int) -> int:
        return 0  # derived from the live records: never stale
