"""The primitives under ``MemoryJobStore``: values with a time to live, and in-process pub/sub.

Not a store on its own: ``mrqcore.store.memory`` combines these under one lock.
Everything here assumes the caller holds that lock, except ``Waiter.wait`` and
``Subscription.get``, which take it themselves to block on its condition.

Blocking works in plain threads and under gevent monkey patching (the lock and
condition come from ``threading``, which gevent patches). A greenlet of an
unpatched thread that runs a gevent hub (a gevent worker started in a thread of
a test process) is not blocked either: there the waits poll with
``gevent.sleep``, so the hub keeps running the other greenlets.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import Any, Callable, Generic, Hashable, Iterator, TypeVar

from .base import Subscription, Waiter

V = TypeVar("V")

#: how often a greenlet of an unpatched thread looks for a message while waiting
_GREENLET_POLL = 0.01


class Expiring(Generic[V]):
    """A dict whose entries may carry a deadline (on ``clock``); expired entries vanish when looked at.

    Like Redis keys: ``set`` drops any deadline, ``expire`` sets one,
    ``persist`` removes it, and a changed value keeps its deadline.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._data: dict[Hashable, V] = {}
        self._deadline: dict[Hashable, float] = {}

    def get(self, key: Hashable) -> V | None:
        deadline = self._deadline.get(key)
        if deadline is not None and deadline <= self._clock():
            self.pop(key)
        return self._data.get(key)

    def __contains__(self, key: Hashable) -> bool:
        return self.get(key) is not None

    def set(self, key: Hashable, value: V, ttl: float | None = None) -> None:
        """Store ``value``; with ``ttl`` > 0 it lives that many seconds, else until deleted."""
        self._data[key] = value
        self._deadline.pop(key, None)
        if ttl:
            self.expire(key, ttl)

    def setdefault(self, key: Hashable, factory: Callable[[], V]) -> V:
        """The live value, or a new one from ``factory`` stored without a deadline."""
        value = self.get(key)
        if value is None:
            value = self._data[key] = factory()
        return value

    def expire(self, key: Hashable, ttl: float) -> None:
        if self.get(key) is not None:
            self._deadline[key] = self._clock() + ttl

    def persist(self, key: Hashable) -> None:
        self._deadline.pop(key, None)

    def pop(self, key: Hashable) -> V | None:
        self._deadline.pop(key, None)
        return self._data.pop(key, None)

    def keys(self) -> list[Hashable]:
        """The live keys (expired ones are dropped on the way)."""
        return [key for key in list(self._data) if self.get(key) is not None]

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.keys())


class Channels:
    """Publish/subscribe within the process: each subscriber has its own inbox.

    ``condition`` is built on the store's lock; ``publish`` (called with the
    lock held) wakes every blocked reader, each of which checks its own inbox.
    """

    def __init__(self, lock: Any) -> None:
        self.condition = threading.Condition(lock)
        self._inboxes: dict[Hashable, set["_Inbox"]] = {}

    def publish(self, channel: Hashable, message: str) -> int:
        inboxes = self._inboxes.get(channel, ())
        for inbox in inboxes:
            inbox.messages.append(message)
        if inboxes:
            self.condition.notify_all()
        return len(inboxes)

    def subscribe(self, channel: Hashable) -> "_Inbox":
        inbox = _Inbox(self, channel)
        self._inboxes.setdefault(channel, set()).add(inbox)
        return inbox

    def unsubscribe(self, inbox: "_Inbox") -> None:
        members = self._inboxes.get(inbox.channel)
        if members is not None:
            members.discard(inbox)
            if not members:
                del self._inboxes[inbox.channel]


class _Inbox:
    """Messages for one subscriber, read under the channels' condition."""

    def __init__(self, channels: Channels, channel: Hashable) -> None:
        self.channels = channels
        self.channel = channel
        self.messages: deque[str] = deque()
        self.closed = False

    def take(self, timeout: float, drain: bool) -> list[str]:
        """Block up to ``timeout`` s for messages; returns the first one (or all with ``drain``)."""
        condition = self.channels.condition
        deadline = time.monotonic() + max(0.0, timeout)
        cooperative = _in_unpatched_greenlet()
        with condition:
            while not self.messages and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                if cooperative:
                    condition.release()
                    try:
                        cooperative(min(remaining, _GREENLET_POLL))
                    finally:
                        condition.acquire()
                else:
                    condition.wait(remaining)
            if drain:
                taken = list(self.messages)
                self.messages.clear()
                return taken
            return [self.messages.popleft()] if self.messages else []

    def close(self) -> None:
        with self.channels.condition:
            self.closed = True
            self.channels.unsubscribe(self)


class MemoryWaiter(Waiter):
    """A ``Waiter`` on one channel: ``wait`` takes every message that arrived; ``message`` is the last."""

    def __init__(self, inbox: _Inbox) -> None:
        self._inbox = inbox
        self.message: str | None = None

    def wait(self, timeout: float) -> bool:
        taken = self._inbox.take(timeout, drain=True)
        if taken:
            self.message = taken[-1]
        return bool(taken)

    def close(self) -> None:
        self._inbox.close()


class MemorySubscription(Subscription):
    """A ``Subscription``: messages one at a time, in publishing order."""

    def __init__(self, inbox: _Inbox) -> None:
        self._inbox = inbox

    def get(self, timeout: float) -> str | None:
        taken = self._inbox.take(timeout, drain=False)
        return taken[0] if taken else None

    def close(self) -> None:
        self._inbox.close()


def _in_unpatched_greenlet() -> Callable[[float], Any] | None:
    """``gevent.sleep`` when blocking the thread would stall other greenlets of its hub, else None.

    That is: gevent is loaded, ``threading`` is not patched, and this thread
    runs a gevent hub (a gevent worker started in a thread of a test process).
    """
    gevent = sys.modules.get("gevent")
    if gevent is None:
        return None
    from gevent import monkey
    if monkey.is_module_patched("threading"):
        return None
    try:
        from gevent._hub_local import get_hub_if_exists
    except ImportError:  # a gevent without it: block the thread, as before
        return None
    return gevent.sleep if get_hub_if_exists() is not None else None
