"""Queue control: pause and resume, subqueues, per-task max_concurrency, and what a worker serves.

Public API (the admin CLI and the dashboard call these)::

    pause_queue("crawl")        # workers stop taking jobs from it (running jobs go on)
    resume_queue("crawl")
    paused_queues()             # -> ["crawl"]
    queue_size("crawl_raw")     # regular or raw queue, waiting items
    queue_sizes()               # {name: size} for every known queue

Subqueues: a queue name with ``/`` (``crawl/site1``) is an ordinary queue; a
worker listening on ``crawl/`` serves every known ``crawl/...`` queue, expanded
against the store's known queues every ``poll_interval`` seconds. Pausing
``crawl/`` pauses every subqueue of it.

max_concurrency: a task whose setting ``max_concurrency`` is N never has more
than N jobs started at once across all workers. A dequeued job over the limit
goes back to the tail of its queue, still ``queued``; see ``store.acquire_slots``
(``lua/concurrency.lua`` for Redis) for how the per-task slot set survives worker crashes.

``WorkerFeed`` is what the worker's main loop calls to get jobs; it is not meant
for other callers.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Sequence

from .helpers import safe_metric
from .raw import RawFeeder, is_raw_queue, raw_queue_for, raw_recovery_service
from .runtime import Runtime, get_runtime

if TYPE_CHECKING:
    from .store.base import Finish
    from .worker import Worker

logger = logging.getLogger("mrqc.queues")


# --- pause / resume / sizes ----------------------------------------------------------


def pause_queue(name: str, *, runtime: Runtime | None = None) -> None:
    """Stop every worker from taking jobs (or raw items) from ``name``; running jobs go on.

    ``name`` may be a subqueue root such as ``crawl/``: every ``crawl/...``
    queue is then paused (taking effect within a worker's ``poll_interval``).
    Queueing onto a paused queue still works.
    """
    _check_name(name)
    (runtime or get_runtime()).store.pause_queue(name)


def resume_queue(name: str, *, runtime: Runtime | None = None) -> None:
    """Undo ``pause_queue(name)`` and wake idle workers. Resuming a queue that is not paused does nothing."""
    _check_name(name)
    (runtime or get_runtime()).store.resume_queue(name)


def paused_queues(*, runtime: Runtime | None = None) -> list[str]:
    """Names of paused queues (and roots), sorted."""
    return sorted((runtime or get_runtime()).store.paused_queues())


def queue_size(name: str, *, runtime: Runtime | None = None) -> int:
    """Items waiting on ``name``: job ids for a regular queue, raw items for a raw one.

    A subqueue root (``crawl/``) gives the total of its known subqueues.
    """
    runtime = runtime or get_runtime()
    if name.endswith("/"):
        return sum(queue_size(q, runtime=runtime) for q in expand_queues([name], _known(runtime)))
    if is_raw_queue(name):
        return raw_queue_for(name, runtime).size()
    return runtime.store.queue_size(name)


def queue_sizes(*, runtime: Runtime | None = None) -> dict[str, int]:
    """``{name: waiting items}`` for every queue ever used (regular and raw)."""
    runtime = runtime or get_runtime()
    return {name: queue_size(name, runtime=runtime) for name in sorted(_known(runtime))}


def report_queue_sizes(*, runtime: Runtime | None = None) -> dict[str, int]:
    """Send each queue's size to the metric hook as ``queues.size`` (``queue=name``); return them.

    Sizes are gauges: call this from a periodic job or your scraper, not per event.
    """
    runtime = runtime or get_runtime()
    sizes = queue_sizes(runtime=runtime)
    for name, size in sizes.items():
        runtime.metric("queues.size", size, queue=name)
    return sizes


def expand_queues(names: Sequence[str], known: Sequence[str] | set[str]) -> list[str]:
    """``names`` with each ``root/`` replaced by the known ``root/...`` queues (sorted).

    Order is kept (first listed, first served) and each queue appears once.
    """
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        matches = sorted(q for q in known if q.startswith(name) and q != name) if name.endswith("/") else [name]
        for queue in matches:
            if queue not in seen:
                seen.add(queue)
                out.append(queue)
    return out


# --- max_concurrency -----------------------------------------------------------------


class ConcurrencyLimiter:
    """Admits dequeued jobs under their task's ``max_concurrency`` (``store.acquire_slots``)."""

    def __init__(self, runtime: Runtime, worker_id: str) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        #: job id -> task path, for jobs holding a slot in this worker
        self._holding: dict[str, str] = {}

    def limit_of(self, path: str) -> int:
        try:
            return int(self.runtime.tasks.settings(path).get("max_concurrency") or 0)
        except (TypeError, ValueError):
            return 0

    def admit(self, jobs: list[tuple[str, dict[str, str]]], now: float) -> tuple[list[tuple[str, dict[str, str]]], int]:
        """Split jobs into (admitted, number put back on their queue)."""
        limited = [(job_id, record.get("path", ""), self.limit_of(record.get("path", "")), record.get("queue", ""))
                   for job_id, record in jobs]
        limited = [entry for entry in limited if entry[2] > 0]
        if not limited:
            return jobs, 0
        flags = self.runtime.store.acquire_slots(self.worker_id, now, float(self.runtime.config.worker_lost_after),
                                                 limited)
        rejected = set()
        for (job_id, path, _, _), admitted in zip(limited, flags):
            if admitted:
                self._holding[job_id] = path
            else:
                rejected.add(job_id)
        return [job for job in jobs if job[0] not in rejected], len(rejected)

    def release(self, finishes: Sequence["Finish"]) -> None:
        """Free the slots of finished jobs (a missed release is cleaned by the next full check)."""
        done = [(fin.id, self._holding[fin.id]) for fin in finishes if fin.id in self._holding]
        if not done:
            return
        try:
            self.runtime.store.release_slots(done)
        except self.runtime.store.connection_errors as exc:
            logger.warning("could not release %d max_concurrency slots (%s)", len(done), exc)
        for job_id, _ in done:  # only now: a kill mid-way makes the worker record the batch again
            self._holding.pop(job_id, None)


# --- what a worker serves ------------------------------------------------------------


class WorkerFeed:
    """The worker's source of jobs: subqueue expansion, raw queues, regular queues, max_concurrency.

    ``fetch(count)`` returns started jobs held by the worker: first from the
    raw queues among the worker's queues (in order), then from the regular
    ones with ``store.dequeue``. Jobs over their task's max_concurrency are put
    back; if that leaves nothing, ``held_back`` is True and the call waited
    ``poll_interval`` first (so a full limit never makes a worker spin).
    """

    def __init__(self, worker: "Worker") -> None:
        self.worker = worker
        self.runtime = worker.runtime
        self.configured = list(worker.queues)
        self.raw = RawFeeder(self.runtime, worker.id)
        self.limiter = ConcurrencyLimiter(self.runtime, worker.id)
        self.held_back = False
        self._expanded: list[str] = []
        self._paused: set[str] = set()
        self._refreshed_at = 0.0
        # Subqueue names need the refresh too: pausing their root pauses them.
        self._has_roots = any("/" in q for q in self.configured)
        worker.add_service(raw_recovery_service(self.runtime))

    def serve(self, queues: Sequence[str]) -> None:
        """Serve these queues from now on (remote ``add_consumer``/``cancel_consumer``)."""
        self.configured = list(queues)
        self._has_roots = any("/" in q for q in self.configured)
        self._refreshed_at = 0.0

    def queues(self, now: float) -> list[str]:
        """The concrete queues to serve, in order (refreshed every poll_interval)."""
        if not self._has_roots:
            return self.configured
        if now - self._refreshed_at >= self.runtime.config.poll_interval:
            known, paused = self.runtime.store.queue_state()
            roots_paused = {q for q in paused if q.endswith("/")}
            self._expanded = [q for q in expand_queues(self.configured, known)
                              if not any(q.startswith(root) for root in roots_paused)]
            self._refreshed_at = now
        return self._expanded

    def fetch(self, count: int) -> list[tuple[str, dict[str, str]]]:
        now = time.time()
        names = self.queues(now)
        self.held_back = False
        raw_names = [q for q in names if is_raw_queue(q)]
        jobs = self.raw.fetch(raw_names, count, now) if raw_names else []
        if len(jobs) < count and names:
            # Raw queue names go too: their job lists only hold jobs someone queued there by name.
            regular = self.worker.store.dequeue(self.worker.id, names, count - len(jobs), now)
            if regular and self.runtime.metric_hook is not None:
                self._emit_dequeued(regular)
            jobs += regular
        if not jobs:
            return jobs
        admitted, rejected = self.limiter.admit(jobs, now)
        for job_id, record in admitted:
            self.raw.track(job_id, record)
        if rejected and not admitted:
            self.held_back = True
            self.worker.wait_for_stop(self.runtime.config.poll_interval)
        return admitted

    def after_finish(self, finishes: Sequence["Finish"]) -> None:
        """Called once finishes are recorded: releases concurrency slots, raw queue clean-up."""
        self.limiter.release(finishes)
        self.raw.after_finish(finishes)

    def _emit_dequeued(self, jobs: list[tuple[str, dict[str, str]]]) -> None:
        counts: dict[str, int] = {}
        for _, record in jobs:
            queue = record.get("queue", "")
            counts[queue] = counts.get(queue, 0) + 1
        for queue, n in counts.items():
            safe_metric(self.runtime, "jobs.dequeued", n, queue=queue)


def _known(runtime: Runtime) -> set[str]:
    return set(runtime.store.known_queues())


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a queue name must be a non-empty str, got {name!r}")


__all__ = ["pause_queue", "resume_queue", "paused_queues", "queue_size", "queue_sizes", "report_queue_sizes",
           "expand_queues", "ConcurrencyLimiter", "WorkerFeed"]
