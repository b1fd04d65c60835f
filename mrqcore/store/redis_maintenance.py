"""Maintenance on the Redis store: locks, interrupted jobs, the scheduled set's cleaning,
schedule claims, rate limits and ``max_concurrency`` slots.

Keys (see ``mrqcore.keys``): ``{p}lock:{name}``, ``{p}interrupted``,
``{p}scheduled``, ``{p}sched:last:{entry}``, ``{p}ratelimit:{key}:{window}``, ``{p}gcra:{key}``,
``{p}running:{path}``; scripts ``unlock``, ``recover_interrupted``,
``drop_scheduled``, ``ratelimit``, ``gcra``, ``concurrency`` (``mrqcore/lua``).
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import redis

from .base import HOLD_MIN, JobSpec, MaintenanceStore, check_spacing as _check_spacing
from .redis_scripts import RedisStoreBase, enqueue_args

#: WATCH retries of a schedule claim before giving up for this tick (another scheduler is busy)
CLAIM_ATTEMPTS = 5


class RedisMaintenance(RedisStoreBase, MaintenanceStore):
    """``MaintenanceStore`` on Redis."""

    def try_lock(self, name: str, token: str, ttl: float) -> bool:
        return bool(self.client.set(self.keys.lock(name), token, nx=True, px=max(1, int(ttl * 1000))))

    def unlock(self, name: str, token: str) -> None:
        self._script("unlock")(args=[self.prefix, name, token])

    def pop_interrupted(self, limit: int) -> list[tuple[str, str]]:
        flat = self._script("recover_interrupted")(args=[self.prefix, int(limit)])
        return list(zip(flat[::2], flat[1::2]))

    def scheduled_ids(self) -> Iterable[str]:
        for job_id, _ in self.client.zscan_iter(self.keys.scheduled, count=500):
            yield job_id

    def scheduled_count(self) -> int:
        return int(self.client.zcount(self.keys.scheduled, "-inf", f"({HOLD_MIN!r}"))

    def drop_scheduled_without_record(self, job_ids: Sequence[str]) -> int:
        if not job_ids:
            return 0
        return int(self._script("drop_scheduled")(args=[self.prefix, *job_ids]))

    def claim_schedule(self, entry_id: str, due: float, marker_ttl: int, specs: Sequence[JobSpec],
                       now: float, queue_first: bool) -> tuple[bool, float | None]:
        # WATCH makes check-then-write atomic: if another scheduler moves the marker
        # meanwhile, EXEC fails and we look again (it has queued the run).
        key = self.keys.schedule_last(entry_id)
        for _ in range(CLAIM_ATTEMPTS):
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    last = None if raw is None else float(raw)
                    if last is not None and last >= due:
                        return False, last
                    pipe.multi()
                    pipe.set(key, repr(due), ex=max(1, int(marker_ttl)))
                    if specs and (last is not None or queue_first):
                        self._script("enqueue")(args=enqueue_args(self.prefix, specs, now), client=pipe)
                    pipe.execute()
                    return True, last
                except redis.WatchError:
                    continue
        return False, None

    def ratelimit(self, key: str, limit: int, per: float) -> int:
        return int(self._script("ratelimit")(args=[self.prefix, key, int(limit), repr(float(per))]))

    def space_calls(self, key: str, interval: float, burst: int = 1) -> float:
        _check_spacing(interval, burst)
        return float(self._script("gcra")(args=[self.prefix, key, repr(float(interval)), int(burst)]))

    def acquire_slots(self, worker_id: str, now: float, lost_after: float,
                      jobs: Sequence[tuple[str, str, int, str]]) -> list[bool]:
        if not jobs:
            return []
        args: list[Any] = [self.prefix, worker_id, repr(now), repr(float(lost_after))]
        for job_id, path, limit, queue in jobs:
            args += (job_id, path, int(limit), queue)
        return [bool(int(flag)) for flag in self._script("concurrency")(args=args)]

    def release_slots(self, jobs: Sequence[tuple[str, str]]) -> None:
        if not jobs:
            return
        pipe = self.client.pipeline(transaction=False)
        for job_id, path in jobs:
            pipe.zrem(self.keys.running(path), job_id)
        pipe.execute()
