"""Raw queues: very high volume queues that hold bare parameters, not job records.

A raw queue stores only a short string per item (an id, a URL...). No job record
exists until a worker takes the item and turns it into a job with the queue's
``job_factory``. The queue's type comes from its name's suffix, as in MRQ:

| suffix | class | Redis type | served |
|---|---|---|---|
| ``_raw`` | ``RawListQueue`` | list | first in, first out |
| ``_set`` | ``RawSetQueue`` | set | any order; an item queued twice is held once |
| ``_sorted_set`` | ``RawSortedSetQueue`` | zset | lowest score first |
| ``_timed_set`` | ``RawTimedSetQueue`` | zset | items whose timestamp score has passed, oldest first |

``raw_queue_for(name)`` is the one place a name becomes a queue object; nothing
else looks at suffixes. Per-queue settings live in the ``raw_queues`` setting::

    RAW_QUEUES = {
        "crawl_raw": {
            "job_factory": "myapp.raw.url_to_job",   # or a callable: item -> {"path", "params", "queue"?}
            "retry_queue": "crawl",                  # queue the created jobs belong to (default: default_queue)
            "statuses_no_storage": ["success"],      # delete the record at once on these statuses
        },
        "refresh_timed_set": {"job_factory": ..., "pushback_seconds": 300},
    }

Never losing an item: a worker's pop (``lua/raw_pop.lua``) moves items into its
raw-inflight hash in the same atomic step; ``lua/raw_start.lua`` writes the job
record (status started, held by the worker) and deletes the raw-inflight entry in
one step. If the worker dies in between, ``requeue_lost_raw_items`` (run by every
worker as a service) gives the items of dead workers back to their queues. Once
the job exists, it is an ordinary started job: lost-job recovery covers it.
A timed set with ``pushback_seconds`` is MRQ's at-least-once mode: a pop only
pushes the item's timestamp forward by that many seconds; the item is removed when
its job succeeds, and otherwise comes back by itself.

This module does not run jobs; the worker does (``mrqcore.queues.WorkerFeed``).
"""
from __future__ import annotations

import abc
import importlib.resources
import logging
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import gevent

from . import serialization
from .config import _suggest, resolve_callable
from .exceptions import ConfigError, SerializationError
from .helpers import safe_metric
from .runtime import Runtime, get_runtime

if TYPE_CHECKING:
    from .store.base import Finish

logger = logging.getLogger("mrqc.raw")

#: keys accepted in one ``raw_queues`` entry
RAW_QUEUE_SETTINGS = ("job_factory", "retry_queue", "statuses_no_storage", "pushback_seconds")


# --- public API ----------------------------------------------------------------------


def queue_raw_jobs(queue: str, params_list: Iterable[Any] | Mapping[str, float], batch_size: int = 1000,
                   *, runtime: Runtime | None = None) -> None:
    """Add raw items to a raw queue; nothing is returned (raw items have no job id).

    ``params_list`` holds str (or int) items for ``_raw`` and ``_set`` queues;
    ``(item, score)`` pairs or a ``{item: score}`` dict for ``_sorted_set``;
    ``{item: timestamp}`` (or pairs; bare items mean "now") for ``_timed_set``.
    Every item is checked before anything is written; each batch of
    ``batch_size`` items is one atomic round trip. Raises ``ValueError`` if
    ``queue`` is not a raw queue name.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    raw_queue_for(queue, runtime).push(params_list, batch_size)


def is_raw_queue(name: str) -> bool:
    """True when ``name`` ends with a raw queue suffix."""
    return _kind_for(name) is not None


def raw_queue_for(name: str, runtime: Runtime | None = None) -> "RawQueue":
    """The raw queue object for ``name``: the only place a suffix picks a type.

    Raises ``ValueError`` if the name has no raw suffix, ``ConfigError`` if the
    queue's ``raw_queues`` entry is malformed.
    """
    cls = _kind_for(name)
    if cls is None:
        raise ValueError(f"{name!r} is not a raw queue name: it must end with one of "
                         f"{', '.join(s for s, _ in _SUFFIXES)}")
    return cls(name, runtime or get_runtime())


def requeue_lost_raw_items(runtime: Runtime | None = None, lost_after: float | None = None,
                           now: float | None = None) -> int:
    """Give back the popped-but-not-started raw items of dead workers; returns how many.

    A worker is dead when it is not in ``{prefix}workers`` or its last heartbeat
    is older than ``lost_after`` seconds (the ``worker_lost_after`` setting by
    default). Safe to run from many workers at once: each give-back is one
    atomic script, and a worker that only looked dead will find its items gone
    and skip them (``lua/raw_start.lua``), so an item never runs twice this way.
    """
    runtime = runtime or get_runtime()
    store = runtime.store
    keys = store.keys
    lost_after = runtime.config.worker_lost_after if lost_after is None else lost_after
    now = time.time() if now is None else now
    candidates = list(store.redis.smembers(keys.raw_workers))
    if not candidates:
        return 0
    beats = store.redis.zmscore(keys.workers, candidates)
    given = 0
    for worker_id, beat in zip(candidates, beats):
        if beat is None or beat < now - lost_after:
            count = int(_script(runtime, "raw_recover")(args=[store.prefix, worker_id]))
            if count:
                logger.warning("gave back %d raw items popped by dead worker %s", count, worker_id)
            given += count
    return given


# --- queue classes -------------------------------------------------------------------


@dataclass(frozen=True)
class RawQueueSettings:
    """One raw queue's entry of the ``raw_queues`` setting, checked."""

    job_factory: Callable[[str], Mapping[str, Any]] | None
    retry_queue: str
    statuses_no_storage: frozenset[str]
    pushback_seconds: float


class RawQueue(abc.ABC):
    """One raw queue. Subclasses fix the Redis type and the serving order."""

    #: the name ends with this; set by subclasses
    suffix: str = ""
    #: the kind stored with popped items (``lua/raw_pop.lua``)
    kind: str = ""

    def __init__(self, name: str, runtime: Runtime) -> None:
        self.name = name
        self.runtime = runtime
        self.key = runtime.keys.raw_queue(name)
        self.settings = _settings_for(name, runtime, self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    @property
    def redis(self) -> Any:
        return self.runtime.redis

    # --- writing ---

    def push(self, params_list: Any, batch_size: int = 1000) -> int:
        """Add items (see ``queue_raw_jobs``); returns how many were sent."""
        entries = self._entries(params_list)
        keys = self.runtime.keys
        for start in range(0, len(entries), batch_size):
            batch = entries[start:start + batch_size]
            pipe = self.redis.pipeline(transaction=True)
            self._write(pipe, batch)
            pipe.sadd(keys.queues, self.name)
            pipe.publish(keys.notify_channel, len(batch))
            pipe.execute()
        if entries:
            self.runtime.metric("queue_raw_jobs", len(entries), queue=self.name)
        return len(entries)

    @abc.abstractmethod
    def _entries(self, params_list: Any) -> list[Any]:
        """Check and normalize ``params_list`` into what ``_write`` takes."""

    @abc.abstractmethod
    def _write(self, pipe: Any, batch: list[Any]) -> None:
        """Queue one checked batch on ``pipe``."""

    @abc.abstractmethod
    def remove(self, items: Sequence[str]) -> None:
        """Take items out of the queue (list queues: O(n) per item)."""

    def empty(self) -> None:
        """Delete every item."""
        self.redis.delete(self.key)

    # --- reading ---

    @abc.abstractmethod
    def size(self) -> int:
        """Items in the queue (for a timed set, due or not)."""

    def due_count(self) -> int:
        """Items a worker could take right now."""
        return self.size()

    @abc.abstractmethod
    def items(self, skip: int = 0, limit: int = 20) -> list[str]:
        """Some items, in serving order where there is one (sets: a random sample)."""

    # --- serving ---

    def pop(self, worker_id: str, count: int, now: float) -> list[tuple[str, str]]:
        """Move up to ``count`` items into the worker's hands; returns (job id, item) pairs."""
        if count <= 0:
            return []
        ids = [str(uuid.uuid4()) for _ in range(count)]
        flat = _script(self.runtime, "raw_pop")(args=[
            self.runtime.store.prefix, self.name, self.kind, worker_id, repr(now),
            repr(self.settings.pushback_seconds), *ids])
        return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    @property
    def tracks_items(self) -> bool:
        """True when popped items sit in the worker's raw-inflight hash until their job exists."""
        return True

    # --- helpers ---

    def _member(self, value: Any, label: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SerializationError(f"raw item for {self.name!r}", label, value,
                                     "raw queue items must be str (or int)")
        return str(value)


class RawListQueue(RawQueue):
    """``name_raw``: a Redis list, served first in, first out."""

    suffix = "_raw"
    kind = "list"

    def _entries(self, params_list: Any) -> list[str]:
        return [self._member(v, f"params_list[{i}]") for i, v in enumerate(_as_list(params_list, self))]

    def _write(self, pipe: Any, batch: list[str]) -> None:
        pipe.rpush(self.key, *batch)

    def remove(self, items: Sequence[str]) -> None:
        pipe = self.redis.pipeline(transaction=True)
        for item in items:
            pipe.lrem(self.key, 1, item)
        pipe.execute()

    def size(self) -> int:
        return int(self.redis.llen(self.key))

    def items(self, skip: int = 0, limit: int = 20) -> list[str]:
        return list(self.redis.lrange(self.key, skip, skip + limit - 1))


class RawSetQueue(RawQueue):
    """``name_set``: a Redis set; an item queued again while waiting is held once."""

    suffix = "_set"
    kind = "set"

    def _entries(self, params_list: Any) -> list[str]:
        return [self._member(v, f"params_list[{i}]") for i, v in enumerate(_as_list(params_list, self))]

    def _write(self, pipe: Any, batch: list[str]) -> None:
        pipe.sadd(self.key, *batch)

    def remove(self, items: Sequence[str]) -> None:
        if items:
            self.redis.srem(self.key, *items)

    def size(self) -> int:
        return int(self.redis.scard(self.key))

    def items(self, skip: int = 0, limit: int = 20) -> list[str]:
        return list(self.redis.srandmember(self.key, limit) or [])


class RawSortedSetQueue(RawQueue):
    """``name_sorted_set``: a Redis zset, served lowest score first."""

    suffix = "_sorted_set"
    kind = "sorted"

    def _entries(self, params_list: Any) -> list[tuple[str, float]]:
        if isinstance(params_list, Mapping):
            pairs = list(params_list.items())
        else:
            pairs = list(params_list)
        out = []
        for i, pair in enumerate(pairs):
            label = f"params_list[{i}]"
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                pair = self._bare(pair, label)
            member, score = pair
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise SerializationError(f"score for {self.name!r}", f"{label}[1]", score,
                                         "scores must be int or float")
            out.append((self._member(member, f"{label}[0]"), float(score)))
        return out

    def _bare(self, value: Any, label: str) -> tuple[Any, float]:
        raise SerializationError(f"raw item for {self.name!r}", label, value,
                                 "a sorted set takes (item, score) pairs or a {item: score} dict")

    def _write(self, pipe: Any, batch: list[tuple[str, float]]) -> None:
        pipe.zadd(self.key, dict(batch))

    def remove(self, items: Sequence[str]) -> None:
        if items:
            self.redis.zrem(self.key, *items)

    def size(self) -> int:
        return int(self.redis.zcard(self.key))

    def items(self, skip: int = 0, limit: int = 20) -> list[str]:
        return list(self.redis.zrange(self.key, skip, skip + limit - 1))


class RawTimedSetQueue(RawSortedSetQueue):
    """``name_timed_set``: a zset scored by epoch time; an item is served once its time has come.

    With ``pushback_seconds``, a pop pushes the item's time forward instead of
    removing it; the item leaves when its job succeeds (at-least-once).
    """

    suffix = "_timed_set"
    kind = "timed"

    def _bare(self, value: Any, label: str) -> tuple[Any, float]:
        return value, time.time()  # MRQ: a bare item is due now

    def due_count(self) -> int:
        return int(self.redis.zcount(self.key, "-inf", time.time()))

    @property
    def tracks_items(self) -> bool:
        return self.settings.pushback_seconds <= 0


_SUFFIXES: tuple[tuple[str, type[RawQueue]], ...] = (
    # longest first: "_sorted_set" and "_timed_set" also end with "_set"
    ("_sorted_set", RawSortedSetQueue), ("_timed_set", RawTimedSetQueue),
    ("_set", RawSetQueue), ("_raw", RawListQueue),
)


def _kind_for(name: str) -> type[RawQueue] | None:
    for suffix, cls in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return cls
    return None


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
        is dequeued for its next run. Never raises on a Redis error: nothing is
        lost if this is skipped (a pushed-back item runs again, a record expires).
        """
        todo = [(fin, self._finishing.pop(fin.id)) for fin in finishes if fin.id in self._finishing]
        todo = [(fin, entry) for fin, entry in todo if fin.due is None]
        if not todo:
            return
        keys = self.runtime.keys
        pipe = self.runtime.redis.pipeline(transaction=False)
        for fin, (queue, item) in todo:
            if fin.status == "success" and not queue.tracks_items:
                pipe.zrem(queue.key, item)
            if fin.status in queue.settings.statuses_no_storage:
                pipe.delete(keys.job(fin.id), keys.joblog(fin.id))
        try:
            pipe.execute()
        except self.runtime.store.connection_errors as exc:
            logger.warning("raw queue clean-up after %d jobs failed (%s)", len(todo), exc)

    # --- helpers ---

    def _announce(self) -> None:
        # Pop only once this worker is visible in {prefix}workers: before that, recovery
        # run by other workers would take our items back (safely, but uselessly). The
        # heartbeat greenlet may not have run yet (first loop, burst): write one now.
        if not self._registered:
            keys = self.runtime.keys
            self.runtime.redis.zadd(keys.workers, {self.worker_id: time.time()})
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
        tracked = "1" if queue.tracks_items else "0"
        args: list[Any] = [self.runtime.store.prefix, self.worker_id, repr(now)]
        records: dict[str, tuple[dict[str, str], bool]] = {}
        for job_id, item in popped:
            fields, job_queue, runnable = self._job_fields(queue, item)
            ttl = 0 if runnable else int(self.runtime.config.default_ttl)
            args += (job_id, tracked, "1" if runnable else "0", job_queue, ttl, len(fields))
            for name, value in fields.items():
                args += (name, value)
            record = dict(fields, queue=job_queue, datequeued=repr(now), dateupdated=repr(now))
            if runnable:
                record.update(status="started", worker=self.worker_id, datestarted=repr(now))
            records[job_id] = (record, runnable)
        written = _script(self.runtime, "raw_start")(args=args)
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


# --- helpers -------------------------------------------------------------------------


def _as_list(params_list: Any, queue: RawQueue) -> list[Any]:
    if isinstance(params_list, (str, bytes, Mapping)):
        raise SerializationError(f"params_list for {queue.name!r}", "params_list", params_list,
                                 "pass a list of items")
    return list(params_list)


def _settings_for(name: str, runtime: Runtime, queue: RawQueue) -> RawQueueSettings:
    entries = runtime.config.raw_queues
    raw = entries.get(name)
    if raw is None and "/" in name:
        raw = entries.get(name.split("/", 1)[0] + "/")  # a subqueue inherits its root's entry
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise ConfigError("raw_queues", f"entry {name!r} must be a dict, got {raw!r}")
    for key in raw:
        if key not in RAW_QUEUE_SETTINGS:
            raise ConfigError("raw_queues", f"entry {name!r} has unknown key {key!r}"
                                            f"{_suggest(key, RAW_QUEUE_SETTINGS)}")
    factory = resolve_callable(raw.get("job_factory"), "raw_queues")
    statuses = raw.get("statuses_no_storage") or ()
    if isinstance(statuses, str) or not all(isinstance(s, str) for s in statuses):
        raise ConfigError("raw_queues", f"entry {name!r}: statuses_no_storage must be a list of "
                                        f"statuses, got {statuses!r}")
    pushback = raw.get("pushback_seconds") or 0
    if isinstance(pushback, bool) or not isinstance(pushback, (int, float)) or pushback < 0:
        raise ConfigError("raw_queues", f"entry {name!r}: pushback_seconds must be a number >= 0, "
                                        f"got {pushback!r}")
    if pushback and queue.kind != "timed":
        raise ConfigError("raw_queues", f"entry {name!r}: pushback_seconds only applies to "
                                        f"_timed_set queues")
    return RawQueueSettings(job_factory=factory,
                            retry_queue=str(raw.get("retry_queue") or runtime.config.default_queue),
                            statuses_no_storage=frozenset(statuses), pushback_seconds=float(pushback))


_loaded: dict[tuple[int, str], Any] = {}


def _script(runtime: Runtime, name: str) -> Any:
    """A registered Lua script of ``mrqcore/lua`` for this runtime's client."""
    key = (id(runtime.redis), name)
    script = _loaded.get(key)
    if script is None:
        text = importlib.resources.files("mrqcore").joinpath(f"lua/{name}.lua").read_text()
        script = _loaded[key] = runtime.redis.register_script(text)
    return script


__all__ = ["queue_raw_jobs", "is_raw_queue", "raw_queue_for", "requeue_lost_raw_items",
           "RawQueue", "RawListQueue", "RawSetQueue", "RawSortedSetQueue", "RawTimedSetQueue",
           "RawQueueSettings", "RawFeeder", "raw_recovery_service", "RAW_QUEUE_SETTINGS"]
