"""Lost-job recovery and cleaning, run by every worker as a service (no cron job needed).

What a pass does:

* **lost workers**: a worker whose last heartbeat (``store.worker_heartbeats``)
  is older than ``worker_lost_after`` seconds is dead (SIGKILL, power off, lost
  network). Every job it held (``store.inflight``) that is still ``started`` by
  it is requeued through ``store.requeue`` with ``force``, and its
  ``requeue_history`` gets ``"worker W lost (no heartbeat for Ns)"``. The dead
  worker is then unregistered. A short store lock (``try_lock``) per dead
  worker keeps two recoveries from working on it at once, and ``requeue`` is
  atomic and refuses an already-queued job, so each lost job is requeued
  exactly once.
* **interrupted jobs**: a worker stopped by SIGTERM (or two SIGINTs) records
  its running jobs as ``interrupt``; the same atomic ``store.finish`` marks
  them for recovery. A pass requeues them (note ``"interrupted on worker W"``);
  ``store.pop_interrupted`` drops ids whose job has moved on, atomically with
  checking their status.
* **cleaning** (a "full" pass, at start and every ``full_every`` seconds):
  jobs held by workers that never sent a heartbeat (``store.orphan_holders``:
  killed before their first one) are recovered like lost workers, and ids in
  the scheduled set whose record has expired are dropped.

Clocks: heartbeats carry the worker's clock and recovery compares them with
its own, so hosts must agree on the time to well under ``worker_lost_after``.
A worker that is only slow (a blocking call that starves its heartbeat for
longer than ``worker_lost_after``) is taken for dead and its jobs run again:
keep ``worker_lost_after`` many times ``heartbeat_interval``.
"""
from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .runtime import Runtime, get_runtime

logger = logging.getLogger("mrqc.maintenance")

#: interrupted ids examined per pass
INTERRUPTED_BATCH = 500


@dataclass
class RecoveryReport:
    """What one pass did (ids of requeued jobs, names of lost workers, counts of cleaned entries)."""

    lost_workers: list[str] = field(default_factory=list)
    requeued_lost: list[str] = field(default_factory=list)
    requeued_interrupted: list[str] = field(default_factory=list)
    cleaned_inflight: int = 0
    cleaned_scheduled: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def changed(self) -> bool:
        return bool(self.lost_workers or self.requeued_lost or self.requeued_interrupted
                    or self.cleaned_inflight or self.cleaned_scheduled)


class Recovery:
    """Lost-job recovery for one runtime. ``run_once`` is one pass; ``service`` loops.

    ``worker_id`` is the worker running it (never taken for dead by itself);
    ``active()`` says whether ``service`` should do passes now (a stopping
    worker leaves its own interrupted jobs to the workers that stay). Safe to
    run in any number of processes at once.
    """

    def __init__(self, runtime: Runtime | None = None, worker_id: str | None = None,
                 interval: float | None = None, full_every: float = 300.0,
                 active: Callable[[], bool] | None = None) -> None:
        self.runtime = runtime or get_runtime()
        self.worker_id = worker_id
        self.active = active or (lambda: True)
        lost_after = float(self.runtime.config.worker_lost_after)
        self.lost_after = lost_after
        self.interval = interval if interval is not None else min(5.0, max(0.2, lost_after / 2))
        self.full_every = full_every
        self._token = uuid.uuid4().hex

    # --- public ---------------------------------------------------------------------

    def run_once(self, now: float | None = None, full: bool = False) -> RecoveryReport:
        """One pass: requeue the jobs of lost workers and interrupted jobs; with ``full``, clean too."""
        now = time.time() if now is None else now
        report = RecoveryReport()
        dead = self._dead_workers(now)
        if full:
            dead.update(self._orphan_inflight_workers(now, dead))
        for worker_id, last_seen in sorted(dead.items()):
            self._recover_worker(worker_id, last_seen, now, report)
        self._requeue_interrupted(now, report)
        if full:
            report.cleaned_scheduled = self._clean_scheduled()
        if report.changed:
            logger.info("recovery: %s", report.to_dict())
            metric = self.runtime.metric
            if report.lost_workers:
                metric("recovery.workers_lost", len(report.lost_workers))
            if report.requeued_lost:
                metric("recovery.requeued", len(report.requeued_lost), reason="lost")
            if report.requeued_interrupted:
                metric("recovery.requeued", len(report.requeued_interrupted), reason="interrupt")
            if report.cleaned_scheduled or report.cleaned_inflight:
                metric("recovery.cleaned", report.cleaned_scheduled + report.cleaned_inflight)
        return report

    def service(self) -> None:
        """``Worker.add_service`` target: a pass every ``interval`` s, a full one every ``full_every`` s."""
        last_full = 0.0
        while True:
            time.sleep(self.interval)
            if not self.active():
                continue
            now = time.time()
            full = now - last_full >= self.full_every
            try:
                self.run_once(now, full=full)
                if full:
                    last_full = now
            except self.runtime.store.backend_errors as exc:
                logger.warning("recovery pass failed (%s); retrying", exc)
            except Exception:  # keep the service alive; the next pass may succeed
                logger.exception("recovery pass failed")

    # --- lost workers ---------------------------------------------------------------

    def _dead_workers(self, now: float) -> dict[str, float | None]:
        stale = self.runtime.store.worker_heartbeats(before=now - self.lost_after)
        return {wid: beat for wid, beat in stale.items() if wid != self.worker_id}

    def _orphan_inflight_workers(self, now: float, known: dict[str, float | None]) -> dict[str, float | None]:
        """Workers holding jobs with no heartbeat entry, idle for ``lost_after`` (full pass only)."""
        return {wid: None for wid in self.runtime.store.orphan_holders(now - self.lost_after)
                if wid not in known and wid != self.worker_id}

    def _recover_worker(self, worker_id: str, last_seen: float | None, now: float,
                        report: RecoveryReport) -> None:
        store = self.runtime.store
        lock = f"recover:{worker_id}"
        if not store.try_lock(lock, self._token, max(10.0, self.lost_after * 4)):
            return  # another process is recovering this worker
        try:
            score = store.worker_heartbeats().get(worker_id)
            if score is not None and score >= now - self.lost_after:
                return  # it heartbeat again meanwhile: alive after all
            silence = f"{now - score:.0f}s" if score is not None else "ever, or longer than its record"
            note = f"worker {worker_id} lost (no heartbeat for {silence})"
            held = store.inflight(worker_id)
            records = store.get_many(held, ("status", "worker"))
            stale = []
            for job_id, record in zip(held, records):
                if record and record.get("status") == "started" and record.get("worker") == worker_id:
                    if store.requeue(job_id, now, force=True, note=note):
                        report.requeued_lost.append(job_id)
                        logger.warning("requeued job %s: %s", job_id, note)
                        continue
                # Not (or no longer) this worker's job, or already requeued: drop the stale entry.
                stale.append(job_id)
            report.cleaned_inflight += store.drop_inflight(worker_id, stale)
            store.unregister_worker(worker_id)
            report.lost_workers.append(worker_id)
        finally:
            self._unlock(lock)

    # --- interrupted jobs -----------------------------------------------------------

    def _requeue_interrupted(self, now: float, report: RecoveryReport) -> None:
        store = self.runtime.store
        # Look first (one round trip per pass when nothing was interrupted; it also prunes
        # ids whose job moved on), then again under the lock: only the lock holder requeues.
        if not store.pop_interrupted(INTERRUPTED_BATCH):
            return
        lock = "recover:interrupted"
        if not store.try_lock(lock, self._token, 30.0):
            return
        try:
            for job_id, worker_id in store.pop_interrupted(INTERRUPTED_BATCH):
                note = f"interrupted on worker {worker_id or '?'}, requeued automatically"
                if store.requeue(job_id, now, note=note):
                    report.requeued_interrupted.append(job_id)
                    logger.info("requeued interrupted job %s", job_id)
        finally:
            self._unlock(lock)

    # --- cleaning -------------------------------------------------------------------

    def _clean_scheduled(self) -> int:
        """Drop ids from the scheduled set whose record no longer exists."""
        store = self.runtime.store
        cleaned = 0
        batch: list[str] = []
        for job_id in store.scheduled_ids():
            batch.append(job_id)
            if len(batch) >= 500:
                cleaned += self._drop_missing(batch)
                batch = []
        if batch:
            cleaned += self._drop_missing(batch)
        return cleaned

    def _drop_missing(self, ids: list[str]) -> int:
        store = self.runtime.store
        missing = [job_id for job_id, record in zip(ids, store.get_many(ids, ("status",))) if record is None]
        return store.drop_scheduled_without_record(missing) if missing else 0

    def _unlock(self, lock: str) -> None:
        """Release a lock only if this instance still holds it (it may have expired and moved on)."""
        try:
            self.runtime.store.unlock(lock, self._token)
        except self.runtime.store.backend_errors:
            pass  # it expires on its own


def recover(runtime: Runtime | None = None, full: bool = True) -> RecoveryReport:
    """Run one recovery pass now (``mrqc recover``); returns what it did."""
    return Recovery(runtime).run_once(full=full)
