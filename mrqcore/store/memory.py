"""MemoryJobStore: the whole store contract in this process's memory, for eager mode and fast tests.

URL forms: ``memory://`` (a new, private store) and ``memory://name`` (one
store per name and prefix in this process, so a runtime built twice from the
same URL sees the same jobs). Nothing survives the process; there is no
server, so ``ping`` always answers and no operation raises a backend error.

Same semantics as ``RedisJobStore`` (the contract suite ``tests/store/`` runs
against both): every method runs under one lock, so each is atomic as the
Redis store's Lua scripts are; time-to-live values (finished records, worker
reports, locks, values) expire lazily, when next looked at, on ``clock``
(``time.time`` unless given). Waiters and subscriptions block on a
condition of that lock: plain threads and gevent (patched or in a thread of
its own) both work (see ``memory_state``).

| state | Redis key it stands for |
|---|---|
| ``_records`` / ``_logs`` | ``job:{id}`` / ``joblog:{id}`` |
| ``_queues`` | ``q:{queue}`` (deques of ids) |
| ``_steps`` | ``qpri:{step}:{queue}`` (queue -> step -> deque of ids, for a record's ``priority`` step) |
| ``_scheduled`` | ``scheduled`` (id -> due time; held jobs at ``HOLD_DUE``) |
| ``_inflight`` | ``inflight:{worker}`` (id -> start time) |
| ``_beats`` / ``_reports`` | ``workers`` / ``worker:{id}`` |
| ``_interrupted``, ``_running`` | ``interrupted``, ``running:{path}`` |
| ``_small`` | locks, schedule markers, rate-limit counters, values, barriers |
| ``_raw``, ``_raw_inflight`` | ``rawq:{queue}``, ``rawinflight:{worker}`` (``memory_raw``) |
"""
from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import urlparse

from ..exceptions import ConfigError
from .base import HOLD_MIN, PRIORITY_FIELD, Finish, JobSpec, JobStore, Waiter, check_spacing, priority_step
from .memory_index import MemoryJobIndex
from .memory_raw import MemoryRawMixin
from .memory_state import Channels, Expiring, MemoryWaiter
from .memory_workflow import MemoryWorkflowMixin

#: statuses under which a record is live: enqueue skips its id
#: a success result at most this long travels in the done notice (as in finish.lua)
_NOTICE_RESULT_MAX = 4096

_named: dict[tuple[str, str], "MemoryJobStore"] = {}
_named_lock = threading.Lock()


class MemoryJobStore(MemoryJobIndex, MemoryRawMixin, MemoryWorkflowMixin, JobStore):
    """Every store primitive on dicts and deques under one lock."""

    connection_errors = ()
    backend_errors = ()
    #: no client: there is no server to talk to
    client = None

    def __init__(self, prefix: str = "mrqc:", clock: Callable[[], float] = time.time) -> None:
        self.prefix = prefix
        self.clock = clock
        self._lock = threading.RLock()
        self._channels = Channels(self._lock)
        self._reset()

    def _reset(self) -> None:
        """Empty every piece of state (subscriptions are connections, not state: they stay)."""
        clock = self.clock
        self._records: Expiring[dict[str, str]] = Expiring(clock)
        self._logs: Expiring[list[str]] = Expiring(clock)
        self._reports: Expiring[dict[str, str]] = Expiring(clock)
        self._small: Expiring[Any] = Expiring(clock)
        self._queues: dict[str, deque[str]] = {}
        self._steps: dict[str, dict[int, deque[str]]] = {}
        self._known: set[str] = set()
        self._paused: set[str] = set()
        self._scheduled: dict[str, float] = {}
        self._inflight: dict[str, dict[str, float]] = {}
        self._beats: dict[str, float] = {}
        self._interrupted: dict[str, float] = {}
        self._running: dict[str, dict[str, float]] = {}
        self._raw: dict[str, tuple[str, Any]] = {}
        self._raw_inflight: dict[str, dict[str, dict[str, Any]]] = {}

    @classmethod
    def from_url(cls, url: str, prefix: str = "mrqc:", **options: Any) -> "MemoryJobStore":
        """The store for ``memory://`` (new each call) or ``memory://name`` (shared per name and prefix).

        ``mrqcore.store.open_store`` calls this; it takes no options.
        """
        if options:
            raise ConfigError("redis", f"memory:// takes no store options, got {sorted(options)}")
        parsed = urlparse(url)
        if parsed.scheme != "memory":
            raise ConfigError("redis", f"{url!r} is not a memory:// URL")
        name = (parsed.netloc + parsed.path).strip("/")
        if not name:
            return cls(prefix)
        with _named_lock:
            store = _named.get((name, prefix))
            if store is None:
                store = _named[(name, prefix)] = cls(prefix)
            return store

    for_url = from_url

    def __repr__(self) -> str:
        return f"<MemoryJobStore prefix={self.prefix!r}>"

    # --- JobRecords ---------------------------------------------------------------

    def enqueue(self, specs: Sequence[JobSpec], now: float) -> list[str]:
        skipped: list[str] = []
        queued_now = 0
        with self._lock:
            for spec in specs:
                record = self._records.get(spec.id)
                if record is not None:  # any status: a caller-chosen id is queued at most once
                    skipped.append(spec.id)
                    continue
                self._records.set(spec.id, {"status": "queued", "queue": spec.queue, "datequeued": repr(now),
                                            "dateupdated": repr(now), **spec.fields})
                if spec.due > 0:
                    self._scheduled[spec.id] = spec.due
                else:
                    self._list_of(spec.queue, spec.fields).append(spec.id)
                    queued_now += 1
                self._known.add(spec.queue)
            if queued_now:
                self._channels.publish("notify", str(queued_now))
        return skipped

    def dequeue(self, worker_id: str, queues: Sequence[str], count: int,
                now: float) -> list[tuple[str, dict[str, str]]]:
        out: list[tuple[str, dict[str, str]]] = []
        with self._lock:
            open_queues = [q for q in queues if q not in self._paused]
            lists = [self._queues.get(q) for q in open_queues]
            stepped = sorted((step, order) for order, q in enumerate(open_queues) for step in self._steps.get(q, {}))
            lists += [self._steps[open_queues[order]][step] for step, order in stepped]
            for ids in lists:  # every queue's own list, then step lists by step (as dequeue.lua)
                while ids and len(out) < count:
                    job_id = ids.popleft()
                    record = self._records.get(job_id)
                    if record is None or record.get("status") != "queued":
                        continue  # cancelled or expired meanwhile: dropped, as in dequeue.lua
                    self._inflight.setdefault(worker_id, {})[job_id] = now
                    record.update(status="started", worker=worker_id, datestarted=repr(now),
                                  dateupdated=repr(now))
                    out.append((job_id, dict(record)))
            for queue in open_queues:
                for step, ids in list(self._steps.get(queue, {}).items()):
                    if not ids:
                        del self._steps[queue][step]
                self._drop_if_empty(self._steps, queue)
        return out

    def finish(self, worker_id: str, finishes: Sequence[Finish]) -> None:
        now = self.clock()
        with self._lock:
            held = self._inflight.get(worker_id, {})
            for fin in finishes:
                self._records.setdefault(fin.id, dict).update(fin.fields)
                if fin.log_lines:
                    self._logs.setdefault(fin.id, list).extend(fin.log_lines)
                if fin.due is not None:
                    self._scheduled[fin.id] = fin.due
                if fin.ttl > 0:
                    self._records.expire(fin.id, fin.ttl)
                    if fin.log_lines:
                        self._logs.expire(fin.id, fin.ttl)
                if fin.status == "interrupt":
                    self._interrupted[fin.id] = now
                held.pop(fin.id, None)
                notice = fin.status
                result = fin.fields.get("result")
                if fin.status == "success" and result is not None and len(result) <= _NOTICE_RESULT_MAX:
                    notice = f"success\n{result}"
                self._channels.publish(("done", fin.id), notice)
            self._drop_if_empty(self._inflight, worker_id)

    def promote_due(self, now: float, limit: int = 1000) -> tuple[int, float | None]:
        moved = 0
        with self._lock:
            for job_id, _ in _by_score(self._scheduled, until=now)[:limit]:
                del self._scheduled[job_id]
                record = self._records.get(job_id)
                if record is not None and record.get("status") in ("queued", "retry"):
                    record.update(status="queued", dateupdated=repr(now))
                    self._list_of(record["queue"], record).append(job_id)
                    moved += 1
            if moved:
                self._channels.publish("notify", str(moved))
            nxt = min(self._scheduled.values(), default=None)
        return moved, nxt

    def get(self, job_id: str, fields: Sequence[str] | None = None) -> dict[str, str] | None:
        with self._lock:
            record = self._records.get(job_id)
            if record is None:
                return None
            return {f: record[f] for f in fields if f in record} if fields else dict(record)

    def get_many(self, job_ids: Sequence[str], fields: Sequence[str]) -> list[dict[str, str] | None]:
        with self._lock:
            return [self.get(job_id, fields) for job_id in job_ids]

    def update(self, job_id: str, fields: Mapping[str, str]) -> None:
        with self._lock:
            self._records.setdefault(job_id, dict).update(fields)

    def delete(self, job_ids: Sequence[str]) -> int:
        with self._lock:
            existed = 0
            for job_id in job_ids:
                existed += self._records.pop(job_id) is not None
                self._logs.pop(job_id)
            return existed

    def cancel(self, job_id: str, now: float, ttl: int) -> str | None:
        with self._lock:
            record = self._records.get(job_id)
            status = record.get("status") if record is not None else None
            if record is None or status is None:
                return None
            if status in ("queued", "retry"):
                _remove_first(self._list_of(record.get("queue", ""), record), job_id)
                self._scheduled.pop(job_id, None)
                record.update(status="cancel", datedone=repr(now), dateupdated=repr(now))
                if ttl > 0:
                    self._records.expire(job_id, ttl)
                    self._logs.expire(job_id, ttl)
                self._channels.publish(("done", job_id), "cancel")
            elif status == "started":
                record.update(cancel_requested=repr(now), dateupdated=repr(now))
            return status

    def requeue(self, job_id: str, now: float, queue: str | None = None,
                force: bool = False, note: str = "") -> str | None:
        with self._lock:
            record = self._records.get(job_id)
            status = record.get("status") if record is not None else None
            if record is None or status is None or status == "queued" or (status == "started" and not force):
                return None
            queue = queue or record.get("queue", "")
            if "worker" in record:
                self._inflight.get(record["worker"], {}).pop(job_id, None)
                self._drop_if_empty(self._inflight, record["worker"])
            self._scheduled.pop(job_id, None)
            self._records.persist(job_id)
            self._logs.persist(job_id)
            record.update(status="queued", queue=queue, datequeued=repr(now), dateupdated=repr(now))
            record.pop("datedone", None)
            record.pop("cancel_requested", None)
            if note:
                history = json.loads(record.get("requeue_history") or "[]")
                history.append({"date": now, "from_status": status, "note": note})
                record["requeue_history"] = json.dumps(history, separators=(",", ":"))
            self._list_of(queue, record).append(job_id)
            self._known.add(queue)
            self._channels.publish("notify", "1")
            return status

    def log_lines(self, job_id: str) -> list[str]:
        with self._lock:
            return list(self._logs.get(job_id) or ())

    def append_log(self, job_id: str, lines: Sequence[str]) -> None:
        if lines:
            with self._lock:
                self._logs.setdefault(job_id, list).extend(lines)

    def iter_ids(self) -> Iterable[str]:
        with self._lock:
            return [str(key) for key in self._records.keys()]

    def clear(self) -> None:
        with self._lock:
            self._reset()

    def done_waiter(self, job_id: str) -> Waiter:
        with self._lock:
            return MemoryWaiter(self._channels.subscribe(("done", job_id)))

    def notify_waiter(self) -> Waiter:
        with self._lock:
            return MemoryWaiter(self._channels.subscribe("notify"))

    def ping(self) -> None:
        return None

    # --- QueueStore ---------------------------------------------------------------

    def queue_size(self, queue: str) -> int:
        with self._lock:
            return len(self._queues.get(queue, ())) + sum(len(ids) for ids in self._steps.get(queue, {}).values())

    def known_queues(self) -> list[str]:
        with self._lock:
            return sorted(self._known)

    def purge_queue(self, queue: str) -> int:
        with self._lock:
            steps = self._steps.pop(queue, {})
            return len(self._queues.pop(queue, ())) + sum(len(ids) for ids in steps.values())

    def pause_queue(self, name: str) -> None:
        with self._lock:
            self._paused.add(name)

    def resume_queue(self, name: str) -> None:
        with self._lock:
            self._paused.discard(name)
            self._channels.publish("notify", "1")

    def paused_queues(self) -> set[str]:
        with self._lock:
            return set(self._paused)

    def queue_state(self) -> tuple[set[str], set[str]]:
        with self._lock:
            return set(self._known), set(self._paused)

    # --- WorkerRegistry -----------------------------------------------------------

    def heartbeat(self, worker_id: str, report: Mapping[str, str], ttl: int, now: float) -> None:
        with self._lock:
            self._reports.setdefault(worker_id, dict).update({k: str(v) for k, v in report.items()})
            self._reports.expire(worker_id, ttl)
            self._beats[worker_id] = now

    def touch_worker(self, worker_id: str, now: float) -> None:
        with self._lock:
            self._beats[worker_id] = now

    def unregister_worker(self, worker_id: str) -> None:
        with self._lock:
            self._beats.pop(worker_id, None)
            self._reports.pop(worker_id)

    def worker_heartbeats(self, before: float | None = None) -> dict[str, float]:
        with self._lock:
            return {wid: beat for wid, beat in self._beats.items() if before is None or beat < before}

    def worker_reports(self, worker_ids: Sequence[str]) -> list[tuple[dict[str, str], int]]:
        with self._lock:
            return [(dict(self._reports.get(wid) or {}), len(self._inflight.get(wid, ())))
                    for wid in worker_ids]

    def inflight(self, worker_id: str) -> list[str]:
        with self._lock:
            return [job_id for job_id, _ in _by_score(self._inflight.get(worker_id, {}))]

    def orphan_holders(self, idle_before: float) -> list[str]:
        with self._lock:
            return sorted(wid for wid, held in self._inflight.items()
                          if held and wid not in self._beats and max(held.values()) < idle_before)

    def drop_inflight(self, worker_id: str, job_ids: Sequence[str]) -> int:
        with self._lock:
            held = self._inflight.get(worker_id, {})
            dropped = sum(held.pop(job_id, None) is not None for job_id in set(job_ids))
            self._drop_if_empty(self._inflight, worker_id)
            return dropped

    # --- MaintenanceStore ---------------------------------------------------------

    def try_lock(self, name: str, token: str, ttl: float) -> bool:
        with self._lock:
            if ("lock", name) in self._small:
                return False
            self._small.set(("lock", name), token, ttl)
            return True

    def unlock(self, name: str, token: str) -> None:
        with self._lock:
            if self._small.get(("lock", name)) == token:
                self._small.pop(("lock", name))

    def pop_interrupted(self, limit: int) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        with self._lock:
            for job_id, _ in _by_score(self._interrupted)[:limit]:
                record = self._records.get(job_id) or {}
                if record.get("status") == "interrupt":
                    out.append((job_id, record.get("worker", "")))
                else:
                    del self._interrupted[job_id]
        return out

    def scheduled_ids(self) -> Iterable[str]:
        with self._lock:
            return list(self._scheduled)

    def scheduled_count(self) -> int:
        with self._lock:
            return sum(1 for due in self._scheduled.values() if due < HOLD_MIN)

    def drop_scheduled_without_record(self, job_ids: Sequence[str]) -> int:
        with self._lock:  # nothing can re-create a record while we hold the lock
            missing = {job_id for job_id in job_ids if job_id not in self._records}
            return sum(self._scheduled.pop(job_id, None) is not None for job_id in missing)

    def claim_schedule(self, entry_id: str, due: float, marker_ttl: int, specs: Sequence[JobSpec],
                       now: float, queue_first: bool) -> tuple[bool, float | None]:
        with self._lock:
            previous = self._small.get(("schedule", entry_id))
            if previous is not None and previous >= due:
                return False, previous
            self._small.set(("schedule", entry_id), due, max(1, int(marker_ttl)))  # never kept forever
            if previous is not None or queue_first:
                self.enqueue(specs, now)
            return True, previous

    def ratelimit(self, key: str, limit: int, per: float) -> int:
        window = math.floor(self.clock() / per)
        with self._lock:
            count = self._small.get(("ratelimit", key, window)) or 0
            if count >= limit:
                return 0
            self._small.set(("ratelimit", key, window), count + 1, per + 1)
            return limit - count

    def space_calls(self, key: str, interval: float, burst: int = 1) -> float:
        check_spacing(interval, burst)
        now = self.clock()
        with self._lock:
            tat = max(self._small.get(("gcra", key)) or 0.0, now)
            wait = tat - (burst - 1) * interval - now
            if wait > 0:
                return wait
            self._small.set(("gcra", key), tat + interval, tat + interval - now + 1)
            return 0.0

    def acquire_slots(self, worker_id: str, now: float, lost_after: float,
                      jobs: Sequence[tuple[str, str, int, str]]) -> list[bool]:
        flags: list[bool] = []
        with self._lock:
            for job_id, path, limit, queue in jobs:
                slots = self._running.setdefault(path, {})
                if len(slots) >= limit:
                    for other in list(slots):
                        if other != job_id and not self._holds_slot(other, worker_id, now, lost_after):
                            del slots[other]
                if job_id in slots or len(slots) < limit:
                    slots[job_id] = now
                    flags.append(True)
                    continue
                self._inflight.get(worker_id, {}).pop(job_id, None)
                record = self._records.setdefault(job_id, dict)
                record.update(status="queued", dateupdated=repr(now))
                record.pop("worker", None)
                record.pop("datestarted", None)
                self._list_of(queue, record).append(job_id)
                flags.append(False)
            self._drop_if_empty(self._inflight, worker_id)
        return flags

    def release_slots(self, jobs: Sequence[tuple[str, str]]) -> None:
        with self._lock:
            for job_id, path in jobs:
                self._running.get(path, {}).pop(job_id, None)
                self._drop_if_empty(self._running, path)

    # --- helpers ------------------------------------------------------------------

    def _queue(self, name: str) -> deque[str]:
        return self._queues.setdefault(name, deque())

    def _list_of(self, queue: str, record: Mapping[str, str]) -> deque[str]:
        """The list a job of ``queue`` waits on: its own, or its priority step's (``PRIORITY_FIELD``)."""
        step = priority_step(record.get(PRIORITY_FIELD))
        if not step:
            return self._queue(queue)
        return self._steps.setdefault(queue, {}).setdefault(step, deque())

    def _holds_slot(self, job_id: str, worker_id: str, now: float, lost_after: float) -> bool:
        """Whether a max_concurrency slot is still taken by ``job_id`` (see concurrency.lua)."""
        record = self._records.get(job_id) or {}
        owner = record.get("worker")
        if record.get("status") != "started" or not owner:
            return False
        beat = self._beats.get(owner)
        return owner == worker_id or (beat is not None and beat >= now - lost_after)

    @staticmethod
    def _drop_if_empty(mapping: dict[str, Any], key: str) -> None:
        if key in mapping and not mapping[key]:
            del mapping[key]


def _by_score(scores: Mapping[str, float], until: float | None = None) -> list[tuple[str, float]]:
    """(member, score) in zset order (score, then member), only scores <= ``until`` if given."""
    return sorted(((m, s) for m, s in scores.items() if until is None or s <= until),
                  key=lambda pair: (pair[1], pair[0]))


def _remove_first(ids: deque[str] | None, job_id: str) -> None:
    if ids is not None:
        try:
            ids.remove(job_id)
        except ValueError:
            pass
