"""What ``ClusterJobStore`` splits per namespace: work that spans queues, so spans hash slots.

Each queue of the cluster store is a namespace in one hash slot
(``mrqcore.store.redis_cluster``); these operations visit every queue's
namespace (the names in the store-wide ``queues`` set) and merge what they
find: the job index, the scheduled sets, interrupted jobs, what each worker
holds, raw items in workers' hands. Worker heartbeats and reports live in the
store-wide namespace. ``max_concurrency`` slots live in the slot of their task
path; their stale-slot check reads other slots (see ``acquire_slots``).
A job moved to another queue is copied, then removed from its old namespace
(``_move``).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import redis

from .base import HOLD_MIN, JobSpec, RawJob, RawPopped
from .redis_maintenance import CLAIM_ATTEMPTS
from .redis_raw import _check_kind


class ClusterSpanMixin:
    """Cross-namespace families of ``ClusterJobStore`` (index, workers, maintenance, raw queues)."""

    client: Any
    prefix: str
    g: Any
    _held: dict[str, str]

    # provided by ClusterJobStore
    def space(self, queue: str) -> Any: ...  # pragma: no cover
    def spaces(self) -> list[Any]: ...  # pragma: no cover
    def keyed(self, key: str) -> Any: ...  # pragma: no cover
    def locator(self, job_id: str) -> str: ...  # pragma: no cover
    def locate(self, job_id: str) -> Any: ...  # pragma: no cover
    def _expire_locators(self, ttls: Mapping[str, int], persist: Sequence[str] = ()) -> None: ...  # pragma: no cover
    def enqueue(self, specs: Sequence[JobSpec], now: float) -> list[str]: ...  # pragma: no cover
    def _know_queues(self, queues: Iterable[str]) -> None: ...  # pragma: no cover

    # --- the job index ----------------------------------------------------------------

    def job_index_page(self, status: str | None, offset: int, count: int,
                       fields: Sequence[str]) -> tuple[list[tuple[str, dict[str, str]]], int | None]:
        offset, count = max(0, int(offset)), int(count)
        if count <= 0:
            return [], offset
        spaces = self.spaces()
        pipe = self.client.pipeline(transaction=False)
        for space in spaces:
            pipe.zrevrange(space.keys.job_index(status), 0, offset + count - 1, withscores=True)
        merged = [(score, job_id, space) for space, rows in zip(spaces, pipe.execute()) for job_id, score in rows]
        merged.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)  # ZREVRANGE's order, over all queues
        page = merged[offset:offset + count]
        if not page:
            return [], None
        wanted = list(dict.fromkeys([*fields, "status"]))
        pipe = self.client.pipeline(transaction=False)
        for _, job_id, space in page:
            pipe.hmget(space.keys.job(job_id), wanted)
        rows: list[tuple[str, dict[str, str]]] = []
        stale: dict[str, tuple[Any, list[str]]] = {}
        for (_, job_id, space), values in zip(page, pipe.execute()):
            record = {f: v for f, v in zip(wanted, values) if v is not None}
            if not record or (status is not None and record.get("status") != status):
                stale.setdefault(space.prefix, (space, []))[1].append(job_id)
                continue
            if "status" not in fields:
                record.pop("status", None)
            rows.append((job_id, record))
        removed = sum(space._prune(status, ids) for space, ids in stale.values())
        return rows, (None if len(page) < count else offset + len(page) - removed)

    def job_index_counts(self, status: str | None, edges: Sequence[float]) -> list[int]:
        totals = [0] * max(0, len(edges) - 1)
        for space in self.spaces():
            for i, n in enumerate(space.job_index_counts(status, edges)):
                totals[i] += n
        return totals

    def job_index_size(self, status: str | None) -> int:
        return sum(space.job_index_size(status) for space in self.spaces())

    def job_index_prune(self, status: str | None, count: int) -> int:
        if count <= 0:
            return 0
        spaces = self.spaces()
        pipe = self.client.pipeline(transaction=False)
        for space in spaces:
            pipe.zrange(space.keys.job_index(status), 0, int(count) - 1, withscores=True)
        merged = sorted((score, job_id, space.prefix) for space, rows in zip(spaces, pipe.execute())
                        for job_id, score in rows)[:int(count)]
        by_prefix = {space.prefix: space for space in spaces}
        groups: dict[str, list[str]] = {}
        for _, job_id, prefix in merged:
            groups.setdefault(prefix, []).append(job_id)
        return sum(by_prefix[prefix]._prune(status, ids) for prefix, ids in groups.items())

    # --- workers ----------------------------------------------------------------------

    def heartbeat(self, worker_id: str, report: Mapping[str, str], ttl: int, now: float) -> None:
        self.g.heartbeat(worker_id, report, ttl, now)

    def touch_worker(self, worker_id: str, now: float) -> None:
        self.g.touch_worker(worker_id, now)

    def unregister_worker(self, worker_id: str) -> None:
        self.g.unregister_worker(worker_id)

    def worker_heartbeats(self, before: float | None = None) -> dict[str, float]:
        return self.g.worker_heartbeats(before)

    def worker_reports(self, worker_ids: Sequence[str]) -> list[tuple[dict[str, str], int]]:
        if not worker_ids:
            return []
        spaces = self.spaces()
        pipe = self.client.pipeline(transaction=False)
        for worker_id in worker_ids:
            pipe.hgetall(self.g.keys.worker(worker_id))
            for space in spaces:
                pipe.zcard(space.keys.inflight(worker_id))
        replies = pipe.execute()
        step = 1 + len(spaces)
        return [(replies[i * step] or {}, sum(int(n) for n in replies[i * step + 1:(i + 1) * step]))
                for i in range(len(worker_ids))]

    def inflight(self, worker_id: str) -> list[str]:
        spaces = self.spaces()
        pipe = self.client.pipeline(transaction=False)
        for space in spaces:
            pipe.zrange(space.keys.inflight(worker_id), 0, -1, withscores=True)
        held = sorted((score, job_id) for rows in pipe.execute() for job_id, score in rows)
        return [job_id for _, job_id in held]

    def orphan_holders(self, idle_before: float) -> list[str]:
        newest: dict[str, float] = {}
        marker = "}:inflight:"
        pattern = _glob_escape(self.prefix) + "q{*}:inflight:*"
        for key in self.client.scan_iter(match=pattern, count=1000, _type="zset"):
            at = key.find(marker)
            if at < 0:
                continue
            worker_id = key[at + len(marker):]
            top = self.client.zrange(key, -1, -1, withscores=True)
            if top:
                newest[worker_id] = max(newest.get(worker_id, float("-inf")), float(top[0][1]))
        beating = self.g.worker_heartbeats()
        return sorted(w for w, latest in newest.items() if w not in beating and latest < idle_before)

    def drop_inflight(self, worker_id: str, job_ids: Sequence[str]) -> int:
        if not job_ids:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for space in self.spaces():
            pipe.zrem(space.keys.inflight(worker_id), *job_ids)
        return sum(int(n) for n in pipe.execute())

    # --- maintenance ------------------------------------------------------------------

    def pop_interrupted(self, limit: int) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for space in self.spaces():
            if len(out) >= limit:
                break
            out += space.pop_interrupted(limit - len(out))
        return out

    def scheduled_ids(self) -> Iterable[str]:
        for space in self.spaces():
            yield from space.scheduled_ids()

    def scheduled_count(self) -> int:
        spaces = self.spaces()
        pipe = self.client.pipeline(transaction=False)
        for space in spaces:
            pipe.zcount(space.keys.scheduled, "-inf", f"({HOLD_MIN!r}")
        return sum(int(n) for n in pipe.execute()) if spaces else 0

    def drop_scheduled_without_record(self, job_ids: Sequence[str]) -> int:
        if not job_ids:
            return 0
        return sum(space.drop_scheduled_without_record(job_ids) for space in self.spaces())

    def claim_schedule(self, entry_id: str, due: float, marker_ttl: int, specs: Sequence[JobSpec],
                       now: float, queue_first: bool) -> tuple[bool, float | None]:
        # The marker is claimed in one transaction (WATCH) in the store-wide slot; the specs'
        # queues are elsewhere, so they are queued right after the claim (not in the same EXEC).
        key = self.g.keys.schedule_last(entry_id)
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
                    pipe.execute()
                except redis.WatchError:
                    continue
            if specs and (last is not None or queue_first):
                self.enqueue(specs, now)
            return True, last
        return False, None

    def acquire_slots(self, worker_id: str, now: float, lost_after: float,
                      jobs: Sequence[tuple[str, str, int, str]]) -> list[bool]:
        return [self._acquire_slot(worker_id, now, lost_after, *job) for job in jobs]

    def _acquire_slot(self, worker_id: str, now: float, lost_after: float, job_id: str, path: str, limit: int,
                      queue: str) -> bool:
        # The task's running set is in the slot of its path; the job in its queue's slot. Taking
        # the slot is one WATCH transaction on the running set; which members no longer hold a
        # slot (job not started, worker lost) is read from their records just before.
        key = self.keyed(path).keys.running(path)
        admitted = False
        for _ in range(CLAIM_ATTEMPTS * 4):
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    members = dict(pipe.zrange(key, 0, -1, withscores=True))
                    stale = [] if job_id in members or len(members) < limit else \
                        [m for m in members if m != job_id and not self._holds_slot(m, worker_id, now, lost_after)]
                    admitted = job_id in members or len(members) - len(stale) < int(limit)
                    pipe.multi()
                    if stale:
                        pipe.zrem(key, *stale)
                    if admitted:
                        pipe.zadd(key, {job_id: now})
                    pipe.execute()
                    break
                except redis.WatchError:
                    continue
        if not admitted:
            space = self.space(queue)
            jobkey = space.keys.job(job_id)
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(space.keys.inflight(worker_id), job_id)
            pipe.hset(jobkey, mapping={"status": "queued", "dateupdated": repr(now)})
            pipe.hdel(jobkey, "worker", "datestarted")
            pipe.rpush(space.keys.queue(queue), job_id)
            pipe.execute()
            self._held.pop(job_id, None)
        return admitted

    def _holds_slot(self, job_id: str, worker_id: str, now: float, lost_after: float) -> bool:
        space = self.locate(job_id)
        if space is None:
            return False
        status, owner = self.client.hmget(space.keys.job(job_id), ["status", "worker"])
        if status != "started" or not owner:
            return False
        if owner == worker_id:
            return True
        beat = self.client.zscore(self.g.keys.workers, owner)
        return beat is not None and float(beat) >= now - lost_after

    def release_slots(self, jobs: Sequence[tuple[str, str]]) -> None:
        if not jobs:
            return
        pipe = self.client.pipeline(transaction=False)
        for job_id, path in jobs:
            pipe.zrem(self.keyed(path).keys.running(path), job_id)
        pipe.execute()

    # --- raw queues -------------------------------------------------------------------

    def raw_push(self, queue: str, kind: str, items: Sequence[str] | Sequence[tuple[str, float]]) -> None:
        _check_kind(kind)
        if not items:
            return
        space = self.space(queue)
        key = space.keys.raw_queue(queue)
        self._know_queues([queue])  # known before its items exist: workers find it
        pipe = self.client.pipeline(transaction=True)
        if kind == "list":
            pipe.rpush(key, *items)
        elif kind == "set":
            pipe.sadd(key, *items)
        else:
            pipe.zadd(key, dict(items))  # type: ignore[arg-type]
        pipe.sadd(space.keys.queues, queue)
        pipe.execute()
        self.client.publish(space.keys.notify_channel, len(items))

    def raw_remove(self, queue: str, kind: str, items: Sequence[str]) -> None:
        self.space(queue).raw_remove(queue, kind, items)

    def raw_empty(self, queue: str) -> None:
        self.space(queue).raw_empty(queue)

    def raw_size(self, queue: str, kind: str, due_before: float | None = None) -> int:
        return self.space(queue).raw_size(queue, kind, due_before)

    def raw_items(self, queue: str, kind: str, skip: int = 0, limit: int = 20) -> list[str]:
        return self.space(queue).raw_items(queue, kind, skip, limit)

    def raw_pop(self, queue: str, kind: str, worker_id: str, job_ids: Sequence[str], now: float,
                pushback: float = 0.0) -> list[RawPopped]:
        return self.space(queue).raw_pop(queue, kind, worker_id, job_ids, now, pushback)

    def raw_start(self, worker_id: str, now: float, jobs: Sequence[RawJob]) -> list[str]:
        if not jobs:
            return []
        self._know_queues({job.queue for job in jobs})
        pipe = self.client.pipeline(transaction=False)
        for job in jobs:
            pipe.set(self.locator(job.job_id), job.queue)  # locators first: findable once written
        pipe.execute()
        homes = self._raw_homes(worker_id, [job for job in jobs if job.tracked])
        groups: dict[str, list[RawJob]] = {}
        crossing: list[tuple[RawJob, Any]] = []
        for job in jobs:
            home = homes.get(job.job_id)
            if job.tracked and home is None:
                continue  # recovery gave the item back already: it runs once, from its queue
            if job.tracked and home.prefix != self.space(job.queue).prefix:
                crossing.append((job, home))
            else:
                groups.setdefault(job.queue, []).append(job)
        written: list[str] = []
        for queue, group in groups.items():
            written += self.space(queue).raw_start(worker_id, now, group)
        for job, home in crossing:
            if self._raw_start_across(worker_id, now, job, home):
                written.append(job.job_id)
        wrote = set(written)
        self._expire_locators({job.job_id: job.ttl for job in jobs if job.ttl > 0 and job.job_id in wrote})
        for job in jobs:
            if job.runnable and job.job_id in wrote:
                self._held[job.job_id] = job.queue
        return [job.job_id for job in jobs if job.job_id in wrote]

    def _raw_homes(self, worker_id: str, jobs: Sequence[RawJob]) -> dict[str, Any]:
        """job id -> the namespace whose raw-inflight entry of ``worker_id`` holds its item."""
        if not jobs:
            return {}
        spaces = self.spaces()
        pipe = self.client.pipeline(transaction=False)
        for job in jobs:
            for space in spaces:
                pipe.hexists(space.keys.raw_inflight(worker_id), job.job_id)
        found = iter(pipe.execute())
        homes: dict[str, Any] = {}
        for job in jobs:
            for space in spaces:
                if next(found):
                    homes[job.job_id] = space
        return homes

    def _raw_start_across(self, worker_id: str, now: float, job: RawJob, home: Any) -> bool:
        """A job whose queue is in another slot than the raw queue its item came from: write the
        job first, then release the item; if recovery gave the item back meanwhile, undo the job
        (the item runs again from its queue). A crash in between runs the item twice, never zero times."""
        target = self.space(job.queue)
        if not target.raw_start(worker_id, now, [RawJob(job.job_id, job.queue, job.fields, runnable=job.runnable,
                                                        tracked=False, ttl=job.ttl)]):
            return False
        pipe = self.client.pipeline(transaction=True)
        pipe.hdel(home.keys.raw_inflight(worker_id), job.job_id)
        pipe.exists(home.keys.raw_inflight(worker_id))
        released, left = pipe.execute()
        if not left:
            self.client.srem(home.keys.raw_workers, worker_id)
        if released:
            return True
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(target.keys.job(job.job_id))
        pipe.zrem(target.keys.inflight(worker_id), job.job_id)
        pipe.execute()
        self.client.delete(self.locator(job.job_id))
        return False

    def raw_holders(self) -> list[str]:
        spaces = self.spaces()
        pipe = self.client.pipeline(transaction=False)
        for space in spaces:
            pipe.smembers(space.keys.raw_workers)
        return sorted(set().union(*pipe.execute())) if spaces else []

    def raw_recover(self, worker_id: str) -> int:
        return sum(space.raw_recover(worker_id) for space in self.spaces())

    # --- moving a job to another queue's namespace ------------------------------------

    def _move(self, job_id: str, source: Any, queue: str, now: float, force: bool, note: str) -> str | None:
        """``requeue`` onto a queue in another slot: copy the record and log, requeue the copy, then
        drop the original. A crash in between leaves the original too (never no job)."""
        record = self.client.hgetall(source.keys.job(job_id))
        status = record.get("status")
        if not status or status == "queued" or (status == "started" and not force):
            return None
        lines = source.log_lines(job_id)
        target = self.space(queue)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(target.keys.job(job_id), target.keys.joblog(job_id))
        pipe.hset(target.keys.job(job_id), mapping=record)
        if lines:
            pipe.rpush(target.keys.joblog(job_id), *lines)
        pipe.execute()
        self.client.set(self.locator(job_id), queue)
        before = target.requeue(job_id, now, queue, True, note)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(source.keys.job(job_id), source.keys.joblog(job_id))
        if record.get("queue"):
            pipe.lrem(source.keys.queue(record["queue"]), 0, job_id)
        pipe.zrem(source.keys.scheduled, job_id)
        pipe.zrem(source.keys.interrupted, job_id)
        if record.get("worker"):
            pipe.zrem(source.keys.inflight(record["worker"]), job_id)
        pipe.zrem(source.keys.job_index(None), job_id)
        pipe.zrem(source.keys.job_index(status), job_id)
        pipe.execute()
        return before


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
