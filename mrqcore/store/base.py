"""The job store contract: a few atomic primitives, with the job semantics above them.

Statuses, retries and TTL policy are decided in ``mrqcore.job`` and
``mrqcore.worker``; a store only has to make each primitive atomic. Records are
flat ``dict[str, str]`` (see ``mrqcore.job.FIELDS`` for the meaning of each).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence


@dataclass
class JobSpec:
    """One job to queue. ``due`` > 0 parks it in the scheduled set until that epoch time."""

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


class JobStore(abc.ABC):
    """Atomic primitives over job records and queues."""

    @abc.abstractmethod
    def enqueue(self, specs: Sequence[JobSpec], now: float) -> list[str]:
        """Create the records and queue them, all or nothing per call.

        A spec whose id already has a live record (queued, started, retry) is
        skipped; its id is returned so callers can tell.
        """

    @abc.abstractmethod
    def dequeue(self, worker_id: str, queues: Sequence[str], count: int, now: float) -> list[tuple[str, dict[str, str]]]:
        """Move up to ``count`` queued jobs, first queues first, into the worker's hands.

        Each returned job is marked started and recorded as held by the worker
        in the same atomic step, so it is never lost between the two.
        """

    @abc.abstractmethod
    def finish(self, worker_id: str, finishes: Sequence[Finish]) -> None:
        """Record how jobs ended, release them from the worker, notify waiters; atomic per call."""

    @abc.abstractmethod
    def promote_due(self, now: float, limit: int = 1000) -> tuple[int, float | None]:
        """Queue scheduled jobs whose time has come. Returns (moved, next due time or None)."""

    @abc.abstractmethod
    def get(self, job_id: str, fields: Sequence[str] | None = None) -> dict[str, str] | None:
        """The record (or only ``fields`` of it), or None if there is no such job."""

    @abc.abstractmethod
    def update(self, job_id: str, fields: dict[str, str]) -> None:
        """Set fields on an existing record."""

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
    def queue_size(self, queue: str) -> int:
        """Jobs waiting on a queue right now."""

    @abc.abstractmethod
    def known_queues(self) -> list[str]:
        """Every queue name ever used."""

    @abc.abstractmethod
    def inflight(self, worker_id: str) -> list[str]:
        """Ids a worker holds."""

    @abc.abstractmethod
    def done_waiter(self, job_id: str) -> "Waiter":
        """A waiter woken when the job may have finished. Subscribe first, then read the record."""

    @abc.abstractmethod
    def notify_waiter(self) -> "Waiter":
        """A waiter woken when jobs may have been queued (idle workers block on it)."""

    @abc.abstractmethod
    def iter_ids(self) -> Iterable[str]:
        """Every job id in the store (admin use; may scan, never on a hot path)."""


class Waiter(abc.ABC):
    """A wake-up source. ``wait`` may return early or spuriously: always re-check state."""

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
