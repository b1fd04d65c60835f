"""The Redis store's job index: listing jobs newest first without scanning every record.

Keys (see ``mrqcore.keys``): ``{p}jobidx`` (zset: every job id by the time it was
last queued; written by ``enqueue.lua`` and ``requeue.lua``) and ``{p}jobidx:{status}``
(zset: ids of jobs that reached a finished status or ``retry``, by that time; written by
``finish.lua``, ``cancel.lua``, ``hold_fail.lua``; ``requeue.lua`` and a re-sent id in
``enqueue.lua`` remove the old status's entry). Each write is one ZADD per job.
Records expire on their own, so entries can outlive them: readers drop those through
``index_prune.lua``, which re-checks each id atomically.
"""
from __future__ import annotations

from typing import Sequence

from .redis_scripts import RedisStoreBase


class RedisJobIndex(RedisStoreBase):
    """The ``job_index_*`` primitives of ``JobRecords`` on Redis."""

    def job_index_page(self, status: str | None, offset: int, count: int,
                       fields: Sequence[str]) -> tuple[list[tuple[str, dict[str, str]]], int | None]:
        offset, count = max(0, int(offset)), int(count)
        if count <= 0:
            return [], offset
        ids = self.client.zrevrange(self.keys.job_index(status), offset, offset + count - 1)
        if not ids:
            return [], None
        wanted = list(dict.fromkeys([*fields, "status"]))
        pipe = self.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(self.keys.job(job_id), wanted)
        rows, stale = [], []
        for job_id, values in zip(ids, pipe.execute()):
            record = {f: v for f, v in zip(wanted, values) if v is not None}
            if not record or (status is not None and record.get("status") != status):
                stale.append(job_id)
                continue
            if "status" not in fields:
                record.pop("status", None)
            rows.append((job_id, record))
        removed = self._prune(status, stale)
        return rows, (None if len(ids) < count else offset + len(ids) - removed)

    def job_index_counts(self, status: str | None, edges: Sequence[float]) -> list[int]:
        key = self.keys.job_index(status)
        pipe = self.client.pipeline(transaction=False)
        for low, high in zip(edges, edges[1:]):
            pipe.zcount(key, repr(float(low)), "(" + repr(float(high)))
        return [int(n) for n in pipe.execute()] if len(edges) > 1 else []

    def job_index_size(self, status: str | None) -> int:
        return int(self.client.zcard(self.keys.job_index(status)))

    def job_index_prune(self, status: str | None, count: int) -> int:
        ids = self.client.zrange(self.keys.job_index(status), 0, max(0, int(count)) - 1) if count > 0 else []
        return self._prune(status, ids)

    def _prune(self, status: str | None, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        return int(self._script("index_prune")(args=[self.prefix, status or "", *ids]))

