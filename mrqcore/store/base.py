"""The job store contract: a few atomic primitives, with the job semantics above them.

Statuses, retries and TTL policy are decided in ``mrqcore.job``,
``mrqcore.execution`` and ``mrqcore.maintenance``; a store only has to make
each primitive atomic. Records are flat ``dict[str, str]`` (see
``mrqcore.job.FIELDS`` for the meaning of each).

The store is the only door to the backend: nothing outside ``mrqcore/store/``
talks to Redis (``tests/test_store_door.py`` checks it); ``open_store(url,
prefix)`` in ``mrqcore.store.factory`` picks the class from the URL's scheme.
The contract is split by concern into small abstract classes that
``JobStore`` combines; every method states what must be atomic. A new
store (memory, MongoDB, Redis Cluster) implements ``JobStore`` in one module
and passes ``tests/store/`` (the contract suite).

Names that the Celery layer passes (``barrier``, ``value``, channel names) are
relative: the store puts them under its own prefix/namespace.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping, Sequence

#: ``JobSpec.due`` of a held job (year ~318,000: never due on its own); ``release_held`` queues it
HOLD_DUE = 1e13
#: a scheduled entry whose due time is at or above this is held, not waiting for a time
HOLD_MIN = 1e12

#: The record field giving a job's priority step on its queue: missing or ``"0"`` is the queue's
#: own list (the fast path); ``"1"``..``"255"`` (digits) puts it on that step's list of the queue.
#: ``dequeue`` serves, for its queues in order, every queue's own list first, then every queue's
#: step lists by increasing step (so a lower step is served first, as Celery's Redis transport
#: does). The field stays on the record, so a retry, a countdown, a release or a requeue puts the
#: job back on the same step's list. ``queue_size`` and ``purge_queue`` cover every step.
PRIORITY_FIELD = "priority"


def priority_step(value: Any) -> int:
    """The step a record's ``priority`` field names (0 for missing, empty or not a small whole number)."""
    try:
        step = int(value)
    except (TypeError, ValueError):
        return 0
    return step if 0 < step <= 255 else 0


@dataclass
class JobSpec:
    """One job to queue. ``due`` > 0 parks it in the scheduled set until that epoch time.

    ``due = HOLD_DUE`` holds it until ``release_held`` (a chain step waiting for its parent).
    """

    id: str
    queue: str
    fields: dict[str, str]
    due: float = 0.0


@dataclass
class Finish:
    """How one job held by a worker ended.

    ``fields`` are written to the record, ``ttl`` seconds (0: none) set on it,
    ``log_lines`` appended to its log; with ``due`` set, the job is parked in
    the scheduled set (retry) instead of leaving the system.
    """

    id: str
    status: str
    fields: dict[str, str]
    ttl: int = 0
    log_lines: list[str] = field(default_factory=list)
    due: float | None = None


@dataclass
class RawPopped:
    """A raw item handed to a worker: ``job_id`` is the fresh id its job will get."""

    job_id: str
    item: str


@dataclass
class RawJob:
    """A job made from a raw item (``raw_start``).

    ``runnable`` False records it with its final ``fields`` (a failed job
    factory) and ``ttl``; True records it started by the worker. ``tracked``:
    the item sits in the worker's raw-inflight entry until this call.
    """

    job_id: str
    queue: str
    fields: dict[str, str]
    runnable: bool = True
    tracked: bool = True
    ttl: int = 0


class Waiter(abc.ABC):
    """A wake-up source. ``wait`` may return early or spuriously: always re-check state."""

    #: the data of the last message received, where the source carries data (done notices)
    message: str | None = None

    @abc.abstractmethod
    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True if something was signalled."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the subscription."""

    def __enter__(self) -> "Waiter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Subscription(abc.ABC):
    """Messages published on one channel after ``subscribe`` returned, in order."""

    @abc.abstractmethod
    def get(self, timeout: float) -> str | None:
        """The next message, or None after ``timeout`` seconds (or a lost connection: call again)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop receiving."""

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class JobRecords(abc.ABC):
    """Creating, moving and reading job records: the hot path."""

    @abc.abstractmethod
    def enqueue(self, specs: Sequence[JobSpec], now: float) -> list[str]:
        """Create the records and queue them, all or nothing per call.

        A spec whose id already has a record, in any status, is skipped (a
        caller-chosen id is queued at most once while its record exists); its
        id is returned so callers can tell. Idle workers are woken.
        """

    @abc.abstractmethod
    def dequeue(self, worker_id: str, queues: Sequence[str], count: int, now: float) -> list[tuple[str, dict[str, str]]]:
        """Move up to ``count`` queued jobs, first queues first, into the worker's hands.

        Priority steps (``PRIORITY_FIELD``): every queue's own list is served before any step
        list, then step lists by increasing step, queues in order within a step. Paused queues
        are skipped. Each returned job is marked started and
        recorded as held by the worker in the same atomic step, so it is never
        lost between the two.
        """

    @abc.abstractmethod
    def finish(self, worker_id: str, finishes: Sequence[Finish]) -> None:
        """Record how jobs ended, release them from the worker, notify waiters; atomic per call.

        An ``interrupt`` finish also marks the job for recovery (``pop_interrupted``).
        """

    @abc.abstractmethod
    def promote_due(self, now: float, limit: int = 1000) -> tuple[int, float | None]:
        """Queue scheduled jobs whose time has come (never held ones).

        Returns (moved, next due time or None).
        """

    @abc.abstractmethod
    def get(self, job_id: str, fields: Sequence[str] | None = None) -> dict[str, str] | None:
        """The record (or only ``fields`` of it: ``{}`` if it has none of them), or None if there is no such job."""

    @abc.abstractmethod
    def get_many(self, job_ids: Sequence[str], fields: Sequence[str]) -> list[dict[str, str] | None]:
        """``fields`` of each job, in order; None for a job with no record. One round trip per batch."""

    @abc.abstractmethod
    def update(self, job_id: str, fields: Mapping[str, str]) -> None:
        """Set fields on an existing record."""

    @abc.abstractmethod
    def delete(self, job_ids: Sequence[str]) -> int:
        """Delete records and their logs (not queue entries: a queued id with no record is skipped by
        ``dequeue``); returns how many records existed."""

    @abc.abstractmethod
    def cancel(self, job_id: str, now: float, ttl: int) -> str | None:
        """Cancel a job; returns its previous status or None if unknown (see cancel.lua)."""

    @abc.abstractmethod
    def requeue(self, job_id: str, now: float, queue: str | None = None,
                force: bool = False, note: str = "") -> str | None:
        """Queue a job again; returns its previous status, None if unknown or already queued."""

    @abc.abstractmethod
    def log_lines(self, job_id: str) -> list[str]:
        """The log lines stored with a job."""

    @abc.abstractmethod
    def append_log(self, job_id: str, lines: Sequence[str]) -> None:
        """Add lines to a job's log."""

    @abc.abstractmethod
    def iter_ids(self) -> Iterable[str]:
        """Every job id in the store (admin use; may scan, never on a hot path)."""

    @abc.abstractmethod
    def job_index_page(self, status: str | None, offset: int, count: int,
                       fields: Sequence[str]) -> tuple[list[tuple[str, dict[str, str]]], int | None]:
        """One page of the job index, newest first, for listing jobs without a scan.

        ``status=None`` reads the index of every job by the time it was last queued
        (``enqueue``, ``requeue``); a status reads the index of jobs that reached it
        (``finish``, ``cancel``) by that time. Returns up to ``count`` ``(id, record)``
        pairs from position ``offset`` (0 = newest), ``record`` holding ``fields``, and
        the offset of the next page (None: this page reached the end of the index). Entries whose record is gone (expired, deleted) or,
        for a status index, whose record's status has moved on, are not returned and are
        dropped from the index, and the next offset accounts for them. O(log N + count).
        """

    @abc.abstractmethod
    def job_index_counts(self, status: str | None, edges: Sequence[float]) -> list[int]:
        """Index entries (same indexes as ``job_index_page``) timed in each ``[edges[i], edges[i+1])``:
        ``len(edges) - 1`` counts, one round trip, O(log N) each (no record is read, so
        entries not yet pruned count too)."""

    @abc.abstractmethod
    def job_index_size(self, status: str | None) -> int:
        """Entries in one index (O(1); entries not yet pruned count too)."""

    @abc.abstractmethod
    def job_index_prune(self, status: str | None, count: int) -> int:
        """Check the ``count`` oldest entries of one index and drop those ``job_index_page``
        would drop; returns how many were dropped. A dashboard calls it now and then so
        expired records leave the counts."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Delete everything this store holds under its prefix/namespace: records, logs, queues,
        workers, held jobs, barriers, values (a test's cleanup, never a live deployment's).
        Other prefixes are untouched."""

    @abc.abstractmethod
    def done_waiter(self, job_id: str) -> Waiter:
        """A waiter woken when the job may have finished. Subscribe first, then read the record.

        A success notice may carry the result: ``waiter.message`` is then
        ``"success\\n<result JSON>"``.
        """

    @abc.abstractmethod
    def notify_waiter(self) -> Waiter:
        """A waiter woken when jobs may have been queued (idle workers block on it)."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Return when the backend answers; raise one of ``connection_errors`` otherwise."""


class QueueStore(abc.ABC):
    """Queues: sizes, names, pause, purge."""

    @abc.abstractmethod
    def queue_size(self, queue: str) -> int:
        """Jobs waiting on a queue right now (every priority step)."""

    @abc.abstractmethod
    def known_queues(self) -> list[str]:
        """Every queue name ever used (regular and raw), sorted."""

    @abc.abstractmethod
    def purge_queue(self, queue: str) -> int:
        """Remove every waiting job id from a queue at once (every priority step); returns how many were
        removed."""

    @abc.abstractmethod
    def pause_queue(self, name: str) -> None:
        """Mark a queue (or a ``root/`` of subqueues) paused."""

    @abc.abstractmethod
    def resume_queue(self, name: str) -> None:
        """Unmark it and wake idle workers, in one step."""

    @abc.abstractmethod
    def paused_queues(self) -> set[str]:
        """Names marked paused."""

    @abc.abstractmethod
    def queue_state(self) -> tuple[set[str], set[str]]:
        """(known queues, paused names) read together (the worker's refresh)."""


class WorkerRegistry(abc.ABC):
    """Live workers: heartbeats, reports, what they hold."""

    @abc.abstractmethod
    def heartbeat(self, worker_id: str, report: Mapping[str, str], ttl: int, now: float) -> None:
        """Store the worker's report (kept ``ttl`` seconds) and its heartbeat time, atomically."""

    @abc.abstractmethod
    def touch_worker(self, worker_id: str, now: float) -> None:
        """Record a heartbeat time only (a worker announcing itself before its first report)."""

    @abc.abstractmethod
    def unregister_worker(self, worker_id: str) -> None:
        """Remove the worker's heartbeat and report, atomically (its held jobs are not touched)."""

    @abc.abstractmethod
    def worker_heartbeats(self, before: float | None = None) -> dict[str, float]:
        """Worker id -> last heartbeat time; with ``before``, only heartbeats older than it."""

    @abc.abstractmethod
    def worker_reports(self, worker_ids: Sequence[str]) -> list[tuple[dict[str, str], int]]:
        """(last report, number of jobs held) per worker, in order; ``{}`` for a missing report."""

    @abc.abstractmethod
    def inflight(self, worker_id: str) -> list[str]:
        """Ids a worker holds, oldest first."""

    @abc.abstractmethod
    def orphan_holders(self, idle_before: float) -> list[str]:
        """Worker ids that hold jobs but have no heartbeat at all, and took their newest job before
        ``idle_before`` (killed before their first heartbeat)."""

    @abc.abstractmethod
    def drop_inflight(self, worker_id: str, job_ids: Sequence[str]) -> int:
        """Forget that the worker holds these ids; returns how many it held."""


class MaintenanceStore(abc.ABC):
    """What recovery and the scheduler need: locks, interrupted jobs, schedule claims."""

    @abc.abstractmethod
    def try_lock(self, name: str, token: str, ttl: float) -> bool:
        """Take a named lock for ``ttl`` seconds unless someone holds it."""

    @abc.abstractmethod
    def unlock(self, name: str, token: str) -> None:
        """Release the lock only if ``token`` still holds it. Never raises for a lost lock."""

    @abc.abstractmethod
    def pop_interrupted(self, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` (job id, worker id) of jobs that ended ``interrupt`` and are still so;
        ids whose job moved on are dropped, atomically with checking their status."""

    @abc.abstractmethod
    def scheduled_ids(self) -> Iterable[str]:
        """Every id in the scheduled set (may scan)."""

    @abc.abstractmethod
    def scheduled_count(self) -> int:
        """How many jobs wait in the scheduled set for a time (retry delay, countdown, ETA), now.

        Held jobs (canvas steps waiting for their parents, scored ``>= HOLD_MIN``) are not counted.
        One cheap read: metrics call it on every scrape."""

    @abc.abstractmethod
    def drop_scheduled_without_record(self, job_ids: Sequence[str]) -> int:
        """Remove from the scheduled set those of ``job_ids`` that have no record, atomically with
        checking it (an id whose record is re-created meanwhile stays). Returns how many were removed."""

    @abc.abstractmethod
    def claim_schedule(self, entry_id: str, due: float, marker_ttl: int, specs: Sequence[JobSpec],
                       now: float, queue_first: bool) -> tuple[bool, float | None]:
        """Advance a schedule entry's marker to ``due`` and enqueue ``specs``, in one transaction.

        Returns (claimed, previous marker). Not claimed when the marker is
        already ``>= due`` (another scheduler took this run). ``specs`` are
        queued only when there was a previous marker or ``queue_first``.
        """

    @abc.abstractmethod
    def ratelimit(self, key: str, limit: int, per: float) -> int:
        """Count one action in the fixed window ``floor(server time / per)`` of ``key``; return how
        many remain in that window before this one (0: the limit was reached). Every call counts,
        also one that gets 0; the window's count expires with the window."""

    @abc.abstractmethod
    def space_calls(self, key: str, interval: float, burst: int = 1) -> float:
        """Evenly spaced calls (GCRA, a token bucket of ``burst`` tokens refilled one per ``interval``
        seconds): admit one call of ``key`` now, or say how long to wait.

        Returns 0.0 when the call is admitted (it takes the slot), else the
        seconds until the next slot opens (> 0; a refused call takes nothing,
        so retrying after that wait is admitted unless another caller took the
        slot first). With ``burst=1`` admitted calls are at least ``interval``
        apart, as Celery spaces a task's ``rate_limit`` (``"4/s"``: one call
        every 0.25 s). The clock is the store's (Redis ``TIME``), so every worker
        shares one schedule; the state of ``key`` expires once it is idle.
        Independent of ``ratelimit`` (a fixed window): the two never share keys.
        """

    @abc.abstractmethod
    def acquire_slots(self, worker_id: str, now: float, lost_after: float,
                      jobs: Sequence[tuple[str, str, int, str]]) -> list[bool]:
        """``max_concurrency``: for each (job id, task path, limit, queue) just dequeued by the
        worker, take a slot of the task, or put the job back at the tail of its queue (status
        queued, out of the worker's hands). Slots of jobs that are no longer started, or whose
        worker is lost, are freed first. One flag per job: True admitted."""

    @abc.abstractmethod
    def release_slots(self, jobs: Sequence[tuple[str, str]]) -> None:
        """Free the slots of (job id, task path) pairs."""


class RawQueueStore(abc.ABC):
    """Raw queues (MRQ's ``_raw``, ``_set``, ``_sorted_set``, ``_timed_set``): items, not jobs.

    ``kind`` is one of ``RAW_KINDS``: "list" (served in order), "set" (each item
    once), "sorted" (lowest score first), "timed" (score = due time).
    """

    RAW_KINDS: ClassVar[tuple[str, ...]] = ("list", "set", "sorted", "timed")

    @abc.abstractmethod
    def raw_push(self, queue: str, kind: str, items: Sequence[str] | Sequence[tuple[str, float]]) -> None:
        """Add items (``(item, score)`` pairs for sorted and timed), record the queue name, wake
        workers; atomic per call."""

    @abc.abstractmethod
    def raw_remove(self, queue: str, kind: str, items: Sequence[str]) -> None:
        """Take these items out."""

    @abc.abstractmethod
    def raw_empty(self, queue: str) -> None:
        """Delete every item."""

    @abc.abstractmethod
    def raw_size(self, queue: str, kind: str, due_before: float | None = None) -> int:
        """Items in the queue; for timed, with ``due_before``, only those due by then."""

    @abc.abstractmethod
    def raw_items(self, queue: str, kind: str, skip: int = 0, limit: int = 20) -> list[str]:
        """Some items in serving order (a set: any ``limit`` of them)."""

    @abc.abstractmethod
    def raw_pop(self, queue: str, kind: str, worker_id: str, job_ids: Sequence[str], now: float,
                pushback: float = 0.0) -> list[RawPopped]:
        """Move up to ``len(job_ids)`` items into the worker's raw-inflight entry, atomically
        (paused queues give nothing). With ``pushback`` > 0 (timed only) items are re-scored to
        ``now + pushback`` instead of removed, and not tracked."""

    @abc.abstractmethod
    def raw_start(self, worker_id: str, now: float, jobs: Sequence[RawJob]) -> list[str]:
        """Create the jobs made from popped items and drop the items from the worker's raw-inflight
        entry, atomically; an item recovery already gave back is skipped. Returns the ids written."""

    @abc.abstractmethod
    def raw_holders(self) -> list[str]:
        """Worker ids that may hold raw items."""

    @abc.abstractmethod
    def raw_recover(self, worker_id: str) -> int:
        """Give a (dead) worker's popped items back to their queues; returns how many."""


class WorkflowStore(abc.ABC):
    """Held jobs, barriers, small values and messages: what canvas-style workflows build on."""

    @abc.abstractmethod
    def release_held(self, job_id: str, now: float, fields: Mapping[str, str]) -> bool:
        """Queue a held job once, setting ``fields`` on it. False if it is not held (already
        released, cancelled, unknown)."""

    @abc.abstractmethod
    def fail_held(self, job_id: str, now: float, status: str, fields: Mapping[str, str], ttl: int) -> bool:
        """End a held job with ``status`` and ``fields`` once, notifying waiters. False if not held."""

    @abc.abstractmethod
    def barrier_add(self, barrier: str, index: int, value: str, size: int, ttl: int) -> dict[int, str] | None:
        """Record part ``index`` of a barrier of ``size`` parts (a part recorded twice counts once).
        Returns every part once all ``size`` are in (possibly to more than one caller), else None."""

    @abc.abstractmethod
    def set_value(self, name: str, value: str, ttl: int | None = None) -> None:
        """Store a small value under ``name``, kept ``ttl`` seconds (None or 0: until deleted)."""

    @abc.abstractmethod
    def get_value(self, name: str) -> str | None:
        """The value, or None."""

    @abc.abstractmethod
    def delete_value(self, name: str) -> None:
        """Remove it (no error if absent)."""

    @abc.abstractmethod
    def publish(self, channel: str, message: str) -> int:
        """Send a message to the current subscribers of ``channel``; returns how many got it."""

    @abc.abstractmethod
    def subscribe(self, channel: str) -> Subscription:
        """Receive what is published on ``channel`` from now on."""


class JobStore(JobRecords, QueueStore, WorkerRegistry, MaintenanceStore, RawQueueStore, WorkflowStore):
    """Everything mrqc stores. See each family's docstrings for the contract."""

    #: errors after which an operation may be retried once the connection is back (kombu's
    #: ``connection_errors``); generic retry code reads this and knows nothing of the backend
    connection_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: every error the backend may raise for an operation (connection errors included)
    backend_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    @classmethod
    def from_url(cls, url: str, prefix: str, **options: Any) -> "JobStore":
        """The store for ``url``, its names under ``prefix`` (``mrqcore.store.open_store`` calls this
        once the URL's scheme picked the class). The default, for a store that needs no
        connection, is ``cls(prefix=prefix, **options)``."""
        return cls(prefix=prefix, **options)  # type: ignore[call-arg]

    def is_transient(self, exc: BaseException) -> bool:
        """True when ``exc`` says the backend is away or busy for now (the same call may succeed
        later), False when the call itself cannot succeed (a bad record, a bad argument)."""
        return isinstance(exc, self.connection_errors)

    def close(self) -> None:
        """Release connections (the store may be used again: it reconnects)."""


def check_spacing(interval: float, burst: int) -> None:
    """``space_calls``'s arguments, checked the same way by every store (ValueError naming the bad one)."""
    if not isinstance(interval, (int, float)) or isinstance(interval, bool) or not interval > 0:
        raise ValueError(f"space_calls interval must be a number of seconds > 0, got {interval!r}")
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
        raise ValueError(f"space_calls burst must be an int >= 1, got {burst!r}")
