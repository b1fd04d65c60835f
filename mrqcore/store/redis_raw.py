"""Raw queues on the Redis store: one Redis type per kind.

| kind | key ``{p}rawq:{queue}`` | served |
|---|---|---|
| ``list`` | list | first in, first out |
| ``set`` | set | any order, each item once |
| ``sorted`` | zset | lowest score first |
| ``timed`` | zset scored by due time | due items, oldest first |

Popped items sit in ``{p}rawinflight:{worker}`` (hash) until their job exists;
``{p}rawworkers`` lists workers that may hold some. Scripts: ``raw_pop``,
``raw_start``, ``raw_recover`` (``mrqcore/lua``).
"""
from __future__ import annotations

from typing import Any, Sequence

from .base import RawJob, RawPopped, RawQueueStore
from .redis_scripts import RedisStoreBase


class RedisRawQueues(RedisStoreBase, RawQueueStore):
    """``RawQueueStore`` on Redis."""

    def raw_push(self, queue: str, kind: str, items: Sequence[str] | Sequence[tuple[str, float]]) -> None:
        _check_kind(kind)
        if not items:
            return
        key = self.keys.raw_queue(queue)
        pipe = self.client.pipeline(transaction=True)
        if kind == "list":
            pipe.rpush(key, *items)
        elif kind == "set":
            pipe.sadd(key, *items)
        else:
            pipe.zadd(key, dict(items))  # type: ignore[arg-type]
        pipe.sadd(self.keys.queues, queue)
        pipe.publish(self.keys.notify_channel, len(items))
        pipe.execute()

    def raw_remove(self, queue: str, kind: str, items: Sequence[str]) -> None:
        _check_kind(kind)
        if not items:
            return
        key = self.keys.raw_queue(queue)
        if kind == "list":
            pipe = self.client.pipeline(transaction=True)
            for item in items:
                pipe.lrem(key, 1, item)
            pipe.execute()
        elif kind == "set":
            self.client.srem(key, *items)
        else:
            self.client.zrem(key, *items)

    def raw_empty(self, queue: str) -> None:
        self.client.delete(self.keys.raw_queue(queue))

    def raw_size(self, queue: str, kind: str, due_before: float | None = None) -> int:
        _check_kind(kind)
        key = self.keys.raw_queue(queue)
        if kind == "list":
            return int(self.client.llen(key))
        if kind == "set":
            return int(self.client.scard(key))
        if kind == "timed" and due_before is not None:
            return int(self.client.zcount(key, "-inf", due_before))
        return int(self.client.zcard(key))

    def raw_items(self, queue: str, kind: str, skip: int = 0, limit: int = 20) -> list[str]:
        _check_kind(kind)
        key = self.keys.raw_queue(queue)
        if limit <= 0:
            return []
        if kind == "list":
            return list(self.client.lrange(key, skip, skip + limit - 1))
        if kind == "set":
            return list(self.client.srandmember(key, limit) or [])
        return list(self.client.zrange(key, skip, skip + limit - 1))

    def raw_pop(self, queue: str, kind: str, worker_id: str, job_ids: Sequence[str], now: float,
                pushback: float = 0.0) -> list[RawPopped]:
        _check_kind(kind)
        if not job_ids:
            return []
        flat = self._script("raw_pop")(args=[self.prefix, queue, kind, worker_id, repr(now),
                                             repr(float(pushback)), *job_ids])
        return [RawPopped(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    def raw_start(self, worker_id: str, now: float, jobs: Sequence[RawJob]) -> list[str]:
        if not jobs:
            return []
        args: list[Any] = [self.prefix, worker_id, repr(now)]
        for job in jobs:
            args += (job.job_id, "1" if job.tracked else "0", "1" if job.runnable else "0", job.queue,
                     int(job.ttl), len(job.fields))
            for name, value in job.fields.items():
                args += (name, value)
        return list(self._script("raw_start")(args=args))

    def raw_holders(self) -> list[str]:
        return sorted(self.client.smembers(self.keys.raw_workers))

    def raw_recover(self, worker_id: str) -> int:
        return int(self._script("raw_recover")(args=[self.prefix, worker_id]))


def _check_kind(kind: str) -> None:
    if kind not in RawQueueStore.RAW_KINDS:
        raise ValueError(f"unknown raw queue kind {kind!r}; expected one of {', '.join(RawQueueStore.RAW_KINDS)}")
