"""Lost-job recovery and cleaning, run by every worker as a service (no cron job needed).

What a pass does:

* **lost workers**: a worker whose last heartbeat (zset ``{p}workers``) is
  older than ``worker_lost_after`` seconds is dead (SIGKILL, power off, lost
  network). Every job it held (its ``{p}inflight:{worker}`` zset) that is still
  ``started`` by it is requeued through ``requeue.lua`` with ``force``, and its
  ``requeue_history`` gets ``"worker W lost (no heartbeat for Ns)"``. The dead
  worker's entries are then removed. A short Redis lock per dead worker keeps
  two recoveries from working on it at once, and ``requeue.lua`` is atomic and
  refuses an already-queued job, so each lost job is requeued exactly once.
* **interrupted jobs**: a worker stopped by SIGTERM (or two SIGINTs) records
  its running jobs as ``interrupt``; the same MULTI adds their ids to the zset
  ``{p}interrupted`` (``RedisJobStore.finish``). A pass requeues them (note
  ``"interrupted on worker W"``); ``recover_interrupted.lua`` prunes ids whose
  job has moved on, atomically with checking their status.
* **cleaning** (a "full" pass, at start and every ``full_every`` seconds):
  inflight sets of workers absent from ``{p}workers`` (a worker killed before
  its first heartbeat) are recovered like lost workers, and ids in
  ``{p}scheduled`` whose record has expired are dropped.

Clocks: heartbeats carry the worker's clock and recovery compares them with
its own, so hosts must agree on the time to well under ``worker_lost_after``.
A worker that is only slow (a blocking call that starves its heartbeat for
longer than ``worker_lost_after``) is taken for dead and its jobs run again:
keep ``worker_lost_after`` many times ``heartbeat_interval``.
"""
from __future__ import annotations

import importlib.resources
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import redis

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
        self._script = self.runtime.redis.register_script(
            importlib.resources.files("mrqcore").joinpath("lua/recover_interrupted.lua").read_text())

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
            except redis.RedisError as exc:
                logger.warning("recovery pass failed (%s); retrying", exc)
            except Exception:  # keep the service alive; the next pass may succeed
                logger.exception("recovery pass failed")

    # --- lost workers ---------------------------------------------------------------

    def _dead_workers(self, now: float) -> dict[str, float | None]:
        keys = self.runtime.keys
        stale = self.runtime.redis.zrangebyscore(keys.workers, "-inf", now - self.lost_after, withscores=True)
        return {wid: score for wid, score in stale if wid != self.worker_id}

    def _orphan_inflight_workers(self, now: float, known: dict[str, float | None]) -> dict[str, float | None]:
        """Workers with an inflight set but no heartbeat entry, idle for ``lost_after`` (full pass only)."""
        keys = self.runtime.keys
        client = self.runtime.redis
        start = len(keys.inflight(""))
        out: dict[str, float | None] = {}
        for key in client.scan_iter(match=keys.inflight("*"), count=1000):
            worker_id = key[start:]
            if worker_id in known or worker_id == self.worker_id:
                continue
            if client.zscore(keys.workers, worker_id) is not None:
                continue  # heartbeating (or already in the stale list)
            newest = client.zrange(key, -1, -1, withscores=True)
            if newest and newest[0][1] < now - self.lost_after:
                out[worker_id] = None
        return out

    def _recover_worker(self, worker_id: str, last_seen: float | None, now: float,
                        report: RecoveryReport) -> None:
        keys = self.runtime.keys
        client = self.runtime.redis
        store = self.runtime.store
        lock = keys.lock(f"recover:{worker_id}")
        if not client.set(lock, self._token, nx=True, ex=max(10, int(self.lost_after * 4))):
            return  # another process is recovering this worker
        try:
            score = client.zscore(keys.workers, worker_id)
            if score is not None and score >= now - self.lost_after:
                return  # it heartbeat again meanwhile: alive after all
            silence = f"{now - score:.0f}s" if score is not None else "ever, or longer than its record"
            note = f"worker {worker_id} lost (no heartbeat for {silence})"
            inflight = keys.inflight(worker_id)
            for job_id in client.zrange(inflight, 0, -1):
                status, holder = client.hmget(keys.job(job_id), ["status", "worker"])
                if status == "started" and holder == worker_id:
                    if store.requeue(job_id, now, force=True, note=note):
                        report.requeued_lost.append(job_id)
                        logger.warning("requeued job %s: %s", job_id, note)
                        continue
                # Not (or no longer) this worker's job, or already requeued: drop the stale entry.
                if client.zrem(inflight, job_id):
                    report.cleaned_inflight += 1
            pipe = client.pipeline(transaction=True)
            pipe.zrem(keys.workers, worker_id)
            pipe.delete(keys.worker(worker_id))
            pipe.execute()
            report.lost_workers.append(worker_id)
        finally:
            self._unlock(lock)

    # --- interrupted jobs -----------------------------------------------------------

    def _requeue_interrupted(self, now: float, report: RecoveryReport) -> None:
        keys = self.runtime.keys
        client = self.runtime.redis
        if not client.exists(keys.interrupted):
            return
        lock = keys.lock("recover:interrupted")
        if not client.set(lock, self._token, nx=True, ex=30):
            return
        try:
            flat = self._script(args=[self.runtime.config.redis_prefix, INTERRUPTED_BATCH])
            for job_id, worker_id in zip(flat[::2], flat[1::2]):
                note = f"interrupted on worker {worker_id or '?'}, requeued automatically"
                if self.runtime.store.requeue(job_id, now, note=note):
                    report.requeued_interrupted.append(job_id)
                    logger.info("requeued interrupted job %s", job_id)
        finally:
            self._unlock(lock)

    # --- cleaning -------------------------------------------------------------------

    def _clean_scheduled(self) -> int:
        """Drop ids from the scheduled set whose record no longer exists."""
        keys = self.runtime.keys
        client = self.runtime.redis
        cleaned = 0
        batch: list[str] = []
        for job_id, _ in client.zscan_iter(keys.scheduled, count=500):
            batch.append(job_id)
            if len(batch) >= 500:
                cleaned += self._drop_missing(batch)
                batch = []
        if batch:
            cleaned += self._drop_missing(batch)
        return cleaned

    def _drop_missing(self, ids: list[str]) -> int:
        keys = self.runtime.keys
        client = self.runtime.redis
        pipe = client.pipeline(transaction=False)
        for job_id in ids:
            pipe.exists(keys.job(job_id))
        missing = [job_id for job_id, found in zip(ids, pipe.execute()) if not found]
        if not missing:
            return 0
        # WATCH the records: if an enqueue re-creates one of these ids meanwhile, EXEC
        # fails and nothing is dropped (the next full pass looks again).
        try:
            with client.pipeline(transaction=True) as pipe:
                pipe.watch(*[keys.job(job_id) for job_id in missing])
                pipe.multi()
                pipe.zrem(keys.scheduled, *missing)
                return int(pipe.execute()[0])
        except redis.WatchError:
            return 0

    def _unlock(self, lock: str) -> None:
        """Release a lock only if this instance still holds it (it may have expired and moved on)."""
        client = self.runtime.redis
        try:
            with client.pipeline(transaction=True) as pipe:
                pipe.watch(lock)
                if pipe.get(lock) == self._token:
                    pipe.multi()
                    pipe.delete(lock)
                    pipe.execute()
        except redis.RedisError:
            pass  # it expires on its own


def recover(runtime: Runtime | None = None, full: bool = True) -> RecoveryReport:
    """Run one recovery pass now (``mrqc recover``); returns what it did."""
    return Recovery(runtime).run_once(full=full)
