"""Turning raw items into started jobs in a worker, and giving back the items of dead workers.

See ``mrqcore.raw`` for the guarantees; the atomic steps are the store's ``raw_pop``,
``raw_start`` and ``raw_recover`` (``lua/raw_*.lua`` on Redis).
"""
from __future__ import annotations

import logging
import time
import traceback
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import gevent

from .. import serialization
from ..exceptions import ConfigError
from ..helpers import safe_metric
from ..runtime import Runtime, get_runtime
from ..store.base import RawJob
from .queues import RawQueue, raw_queue_for

if TYPE_CHECKING:
    from ..store.base import Finish

logger = logging.getLogger("mrqc.raw")


# --- recovery --------------------------------------------------------------------------


def requeue_lost_raw_items(runtime: Runtime | None = None, lost_after: float | None = None,
                           now: float | None = None) -> int:
    """Give back the popped-but-not-started raw items of dead workers; returns how many.

    A worker is dead when it has no heartbeat entry or its last heartbeat
    is older than ``lost_after`` seconds (the ``worker_lost_after`` setting by
    default). Safe to run from many workers at once: each give-back is one
    atomic script, and a worker that only looked dead will find its items gone
    and skip them (``store.raw_start``), so an item never runs twice this way.
    """
    runtime = runtime or get_runtime()
    store = runtime.store
    lost_after = runtime.config.worker_lost_after if lost_after is None else lost_after
    now = time.time() if now is None else now
    candidates = store.raw_holders()
    if not candidates:
        return 0
    beats = store.worker_heartbeats()
    given = 0
    for worker_id in candidates:
        beat = beats.get(worker_id)
        if beat is None or beat < now - lost_after:
            count = store.raw_recover(worker_id)
            if count:
                logger.warning("gave back %d raw items popped by dead worker %s", count, worker_id)
            given += count
    return given


# --- turning items into jobs (used by the worker) ------------------------------------


class RawFeeder:
    """Takes items from raw queues and turns them into started jobs held by one worker."""

    def __init__(self, runtime: Runtime, worker_id: str) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self._queues: dict[str, RawQueue] = {}
        self._broken: set[str] = set()
        #: job id -> (queue, item) for jobs needing work when they finish
        self._finishing: dict[str, tuple[RawQueue, str]] = {}
        self._registered = False

    def queue(self, name: str) -> RawQueue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = raw_queue_for(name, self.runtime)
        return queue

    def fetch(self, names: Sequence[str], count: int, now: float) -> list[tuple[str, dict[str, str]]]:
        """Up to ``count`` started jobs made from the raw queues ``names``, first names first."""
        if not names or count <= 0:
            return []
        self._announce()
        out: list[tuple[str, dict[str, str]]] = []
        for name in names:
            if len(out) >= count:
                break
            queue = self._usable(name)
            if queue is None:
                continue
            popped = queue.pop(self.worker_id, count - len(out), now)
            if popped:
                safe_metric(self.runtime, "jobs.dequeued", len(popped), queue=name)
                out += self._start(queue, popped, now)
        return out

    def track(self, job_id: str, record: Mapping[str, str]) -> None:
        """Remember a starting job made from a raw item if its end needs raw queue work.

        Called for every job the worker starts, so a retried raw job dequeued
        from its retry queue is handled like the first run.
        """
        name = record.get("raw_queue")
        if not name or "raw_param" not in record:
            return
        try:
            queue = self.queue(name)
        except (ConfigError, ValueError):
            return
        if queue.settings.statuses_no_storage or not queue.tracks_items:
            self._finishing[job_id] = (queue, record["raw_param"])

    def after_finish(self, finishes: Sequence["Finish"]) -> None:
        """Apply raw queue settings to recorded finishes: pushback removal, statuses_no_storage.

        A retried job (``due`` set) is forgotten here and tracked again when it
        is dequeued for its next run. A store error may rise (the worker logs it): nothing
        is lost if this is skipped (a pushed-back item runs again, a record expires).
        """
        # Entries are dropped only once the clean-up ran: if this greenlet is killed
        # mid-way (worker stopping), the worker records the batch again and we redo it.
        ended = [fin for fin in finishes if fin.id in self._finishing]
        todo = [(fin, self._finishing[fin.id]) for fin in ended if fin.due is None]
        if todo:
            pushed_back: dict[str, tuple[RawQueue, list[str]]] = {}
            no_storage: list[str] = []
            for fin, (queue, item) in todo:
                if fin.status == "success" and not queue.tracks_items:
                    pushed_back.setdefault(queue.name, (queue, []))[1].append(item)
                if fin.status in queue.settings.statuses_no_storage:
                    no_storage.append(fin.id)
            store = self.runtime.store
            try:
                for queue, items in pushed_back.values():
                    store.raw_remove(queue.name, queue.kind, items)
                if no_storage:
                    store.delete(no_storage)
            except store.connection_errors as exc:
                logger.warning("raw queue clean-up after %d jobs failed (%s)", len(todo), exc)
        for fin in ended:
            self._finishing.pop(fin.id, None)

    # --- helpers ---

    def _announce(self) -> None:
        # Pop only once this worker has a heartbeat entry: before that, recovery run by
        # other workers would take our items back (safely, but uselessly). The heartbeat
        # greenlet may not have run yet (first loop, burst): record one now.
        if not self._registered:
            self.runtime.store.touch_worker(self.worker_id, time.time())
            self._registered = True

    def _usable(self, name: str) -> RawQueue | None:
        try:
            queue = self.queue(name)
        except ConfigError as exc:
            if name not in self._broken:
                self._broken.add(name)
                logger.error("not serving raw queue %r: %s", name, exc)
            return None
        if queue.settings.job_factory is None:
            if name not in self._broken:
                self._broken.add(name)
                logger.error("not serving raw queue %r: raw_queues[%r] has no job_factory", name, name)
            return None
        return queue

    def _start(self, queue: RawQueue, popped: list[tuple[str, str]], now: float) -> list[tuple[str, dict[str, str]]]:
        jobs: list[RawJob] = []
        records: dict[str, tuple[dict[str, str], bool]] = {}
        for job_id, item in popped:
            fields, job_queue, runnable = self._job_fields(queue, item)
            ttl = 0 if runnable else int(self.runtime.config.default_ttl)
            jobs.append(RawJob(job_id, job_queue, fields, runnable=runnable, tracked=queue.tracks_items, ttl=ttl))
            record = dict(fields, queue=job_queue, datequeued=repr(now), dateupdated=repr(now))
            if runnable:
                record.update(status="started", worker=self.worker_id, datestarted=repr(now))
            records[job_id] = (record, runnable)
        written = self.runtime.store.raw_start(self.worker_id, now, jobs)
        out = []
        for job_id in written:
            record, runnable = records[job_id]
            if runnable:
                out.append((job_id, record))
        return out

    def _job_fields(self, queue: RawQueue, item: str) -> tuple[dict[str, str], str, bool]:
        """The record fields of the job made from ``item``; a failing factory gives a failed record."""
        settings = queue.settings
        base = {"raw_queue": queue.name, "raw_param": item, "retry_count": "0"}
        try:
            spec = settings.job_factory(item)  # type: ignore[misc]
            if not isinstance(spec, Mapping) or not isinstance(spec.get("path"), str) or not spec["path"]:
                raise TypeError(f"job_factory of raw queue {queue.name!r} must return a dict with a "
                                f"'path' str and a 'params' dict, got {spec!r}")
            params = spec.get("params") or {}
            if not isinstance(params, Mapping):
                raise TypeError(f"job_factory of raw queue {queue.name!r} returned params that are "
                                f"not a dict: {params!r}")
            fields = dict(base, path=spec["path"],
                          params=serialization.dumps_checked(dict(params), "params").decode())
            return fields, str(spec.get("queue") or settings.retry_queue), True
        except Exception as exc:  # the factory is user code: record the failure, keep the item
            logger.exception("job_factory of raw queue %r failed on %r", queue.name, item)
            now = repr(time.time())
            factory = settings.job_factory
            path = f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', repr(factory))}"
            fields = dict(base, path=path, status="failed", datedone=now,
                          params=serialization.dumps({"raw_param": item}).decode(),
                          exceptiontype=type(exc).__name__, traceback=traceback.format_exc())
            return fields, settings.retry_queue, False


def raw_recovery_service(runtime: Runtime) -> Callable[[], None]:
    """A worker service (``Worker.add_service``) running ``requeue_lost_raw_items`` periodically."""
    config = runtime.config
    interval = max(config.poll_interval, min(config.heartbeat_interval, config.worker_lost_after / 2))

    def service() -> None:
        while True:
            try:
                requeue_lost_raw_items(runtime)
            except runtime.store.connection_errors as exc:
                logger.warning("raw item recovery failed (%s)", exc)
            gevent.sleep(interval)

    return service

