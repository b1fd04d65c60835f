"""The four raw queue classes behind one interface, and the one place a name picks a class.

See ``mrqcore.raw`` for the model. Nothing else in mrqc looks at raw suffixes.
"""
from __future__ import annotations

import abc
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..config import check_entry, resolve_callable
from ..exceptions import ConfigError, SerializationError
from ..runtime import Runtime, get_runtime

#: keys accepted in one ``raw_queues`` entry
RAW_QUEUE_SETTINGS = ("job_factory", "retry_queue", "statuses_no_storage", "pushback_seconds")


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


# --- queue classes -------------------------------------------------------------------


@dataclass(frozen=True)
class RawQueueSettings:
    """One raw queue's entry of the ``raw_queues`` setting, checked."""

    job_factory: Callable[[str], Mapping[str, Any]] | None
    retry_queue: str
    statuses_no_storage: frozenset[str]
    pushback_seconds: float


class RawQueue(abc.ABC):
    """One raw queue: its settings and the checking of items. The store keeps the items
    (``store.raw_*``, one storage type per ``kind``); subclasses fix the kind and how
    items are given."""

    #: the name ends with this; set by subclasses
    suffix: str = ""
    #: the store's raw queue kind (``RawQueueStore.RAW_KINDS``); set by subclasses
    kind: str = ""

    def __init__(self, name: str, runtime: Runtime) -> None:
        self.name = name
        self.runtime = runtime
        #: the Redis key holding the items (for inspection; only the store touches it)
        self.key = runtime.keys.raw_queue(name)
        self.settings = _settings_for(name, runtime, self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # --- writing ---

    def push(self, params_list: Any, batch_size: int = 1000) -> int:
        """Add items (see ``queue_raw_jobs``); returns how many were sent."""
        entries = self._entries(params_list)
        store = self.runtime.store
        for start in range(0, len(entries), batch_size):
            store.raw_push(self.name, self.kind, entries[start:start + batch_size])
        if entries:
            self.runtime.metric("queue_raw_jobs", len(entries), queue=self.name)
        return len(entries)

    @abc.abstractmethod
    def _entries(self, params_list: Any) -> list[Any]:
        """Check and normalize ``params_list`` into what ``store.raw_push`` takes."""

    def remove(self, items: Sequence[str]) -> None:
        """Take items out of the queue (list queues: O(n) per item)."""
        self.runtime.store.raw_remove(self.name, self.kind, list(items))

    def empty(self) -> None:
        """Delete every item."""
        self.runtime.store.raw_empty(self.name)

    # --- reading ---

    def size(self) -> int:
        """Items in the queue (for a timed set, due or not)."""
        return self.runtime.store.raw_size(self.name, self.kind)

    def due_count(self) -> int:
        """Items a worker could take right now."""
        return self.size()

    def items(self, skip: int = 0, limit: int = 20) -> list[str]:
        """Some items, in serving order where there is one (sets: a random sample)."""
        return self.runtime.store.raw_items(self.name, self.kind, skip, limit)

    # --- serving ---

    def pop(self, worker_id: str, count: int, now: float) -> list[tuple[str, str]]:
        """Move up to ``count`` items into the worker's hands; returns (job id, item) pairs."""
        if count <= 0:
            return []
        ids = [str(uuid.uuid4()) for _ in range(count)]
        popped = self.runtime.store.raw_pop(self.name, self.kind, worker_id, ids, now,
                                            self.settings.pushback_seconds)
        return [(p.job_id, p.item) for p in popped]

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
    """``name_raw``: served first in, first out."""

    suffix = "_raw"
    kind = "list"

    def _entries(self, params_list: Any) -> list[str]:
        return [self._member(v, f"params_list[{i}]") for i, v in enumerate(_as_list(params_list, self))]


class RawSetQueue(RawQueue):
    """``name_set``: served in any order; an item queued again while waiting is held once."""

    suffix = "_set"
    kind = "set"

    def _entries(self, params_list: Any) -> list[str]:
        return [self._member(v, f"params_list[{i}]") for i, v in enumerate(_as_list(params_list, self))]


class RawSortedSetQueue(RawQueue):
    """``name_sorted_set``: served lowest score first."""

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


class RawTimedSetQueue(RawSortedSetQueue):
    """``name_timed_set``: items scored by epoch time; an item is served once its time has come.

    With ``pushback_seconds``, a pop pushes the item's time forward instead of
    removing it; the item leaves when its job succeeds (at-least-once).
    """

    suffix = "_timed_set"
    kind = "timed"

    def _bare(self, value: Any, label: str) -> tuple[Any, float]:
        return value, time.time()  # MRQ: a bare item is due now

    def due_count(self) -> int:
        return self.runtime.store.raw_size(self.name, self.kind, due_before=time.time())

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
    check_entry("raw_queues", name, raw, RAW_QUEUE_SETTINGS)
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


__all__ = ["queue_raw_jobs", "is_raw_queue", "raw_queue_for", "RawQueue", "RawListQueue", "RawSetQueue",
           "RawSortedSetQueue", "RawTimedSetQueue", "RawQueueSettings", "RAW_QUEUE_SETTINGS"]
