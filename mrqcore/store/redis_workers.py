"""The worker registry of the Redis store: heartbeats, reports and what each worker holds.

Keys (see ``mrqcore.keys``): ``{p}workers`` (zset: worker id -> last heartbeat),
``{p}worker:{id}`` (hash: the last report, expiring), ``{p}inflight:{id}`` (zset:
ids the worker holds, scored by start time).
"""
from __future__ import annotations

from typing import Mapping, Sequence

from .base import WorkerRegistry
from .redis_scripts import RedisStoreBase


class RedisWorkerRegistry(RedisStoreBase, WorkerRegistry):
    """``WorkerRegistry`` on Redis."""

    def heartbeat(self, worker_id: str, report: Mapping[str, str], ttl: int, now: float) -> None:
        key = self.keys.worker(worker_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(key, mapping=dict(report))
        pipe.expire(key, max(1, int(ttl)))
        pipe.zadd(self.keys.workers, {worker_id: now})
        pipe.execute()

    def touch_worker(self, worker_id: str, now: float) -> None:
        self.client.zadd(self.keys.workers, {worker_id: now})

    def unregister_worker(self, worker_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(self.keys.workers, worker_id)
        pipe.delete(self.keys.worker(worker_id))
        pipe.execute()

    def worker_heartbeats(self, before: float | None = None) -> dict[str, float]:
        high = "+inf" if before is None else f"({before!r}"
        return {wid: float(score) for wid, score in
                self.client.zrangebyscore(self.keys.workers, "-inf", high, withscores=True)}

    def worker_reports(self, worker_ids: Sequence[str]) -> list[tuple[dict[str, str], int]]:
        if not worker_ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for worker_id in worker_ids:
            pipe.hgetall(self.keys.worker(worker_id))
            pipe.zcard(self.keys.inflight(worker_id))
        replies = pipe.execute()
        return [(replies[2 * i] or {}, int(replies[2 * i + 1])) for i in range(len(worker_ids))]

    def inflight(self, worker_id: str) -> list[str]:
        return list(self.client.zrange(self.keys.inflight(worker_id), 0, -1))

    def orphan_holders(self, idle_before: float) -> list[str]:
        # A full-pass scan (never on a hot path): inflight sets whose worker has no heartbeat entry.
        start = len(self.keys.inflight(""))
        out = []
        for key in self.client.scan_iter(match=self.keys.inflight("*"), count=1000):
            worker_id = key[start:]
            if self.client.zscore(self.keys.workers, worker_id) is not None:
                continue
            newest = self.client.zrange(key, -1, -1, withscores=True)
            if newest and newest[0][1] < idle_before:
                out.append(worker_id)
        return sorted(out)

    def drop_inflight(self, worker_id: str, job_ids: Sequence[str]) -> int:
        if not job_ids:
            return 0
        return int(self.client.zrem(self.keys.inflight(worker_id), *job_ids))
