"""The ``WorkflowStore`` family on Redis: held jobs, barriers, small values, messages.

A mixin of ``RedisJobStore`` (kept apart so each module stays small), on the
state every Redis family shares (``RedisStoreBase``: ``client``, ``prefix`` and
the one script loader ``_script``).

| data | Redis key (``p`` = prefix) | type |
|---|---|---|
| held job | ``{p}scheduled`` entry scored ``>= HOLD_MIN``, record ``{p}job:{id}`` | zset, hash |
| barrier ``name`` | ``{p}{name}`` | hash part index -> value |
| value ``name`` | ``{p}{name}`` | string |
| channel ``name`` | ``{p}{name}`` | pubsub channel |

Barrier, value and channel names are the caller's, placed right under the
prefix (the Celery layer uses ``celery:chord:{id}``, ``celery:group:{id}``,
remote control's ``control:requests``, ``control:reply:{id}``): a caller picks names that do not collide with
``mrqcore.keys``. Releasing and failing a held job are Lua scripts that act only
on a job still held, so each happens once however many callers race.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import redis

from .base import HOLD_MIN, Subscription, WorkflowStore
from .redis_scripts import RedisStoreBase


class RedisWorkflowMixin(RedisStoreBase, WorkflowStore):
    """``WorkflowStore`` on Redis (see the module docstring for the keys)."""

    # --- held jobs ----------------------------------------------------------------

    def release_held(self, job_id: str, now: float, fields: Mapping[str, str]) -> bool:
        args: list[Any] = [self.prefix, job_id, repr(now), repr(HOLD_MIN), len(fields)]
        for name, value in fields.items():
            args += (name, value)
        return bool(self._script("hold_release")(args=args))

    def fail_held(self, job_id: str, now: float, status: str, fields: Mapping[str, str], ttl: int) -> bool:
        args: list[Any] = [self.prefix, job_id, repr(now), repr(HOLD_MIN), _ttl(ttl, "fail_held"), status,
                           len(fields)]
        for name, value in fields.items():
            args += (name, value)
        return bool(self._script("hold_fail")(args=args))

    # --- barriers and values ------------------------------------------------------

    def barrier_add(self, barrier: str, index: int, value: str, size: int, ttl: int) -> dict[int, str] | None:
        if size < 1 or not 0 <= index < size:
            raise ValueError(f"barrier_add({barrier!r}): part index {index!r} is not in 0..size-1 "
                             f"(size {size!r})")
        flat = self._script("barrier_add")(args=[self.prefix, _name(barrier, "barrier"), index, value, size,
                                                 _ttl(ttl, "barrier_add")])
        if not flat:
            return None
        return {int(part): data for part, data in zip(flat[::2], flat[1::2])}

    def set_value(self, name: str, value: str, ttl: int | None = None) -> None:
        self.client.set(self.prefix + _name(name, "value"), value, ex=_ttl(ttl, "set_value") or None)

    def get_value(self, name: str) -> str | None:
        return self.client.get(self.prefix + _name(name, "value"))

    def delete_value(self, name: str) -> None:
        self.client.delete(self.prefix + _name(name, "value"))

    # --- messages -----------------------------------------------------------------

    def publish(self, channel: str, message: str) -> int:
        return int(self.client.publish(self.prefix + _name(channel, "channel"), message))

    def subscribe(self, channel: str) -> Subscription:
        return RedisSubscription(self.client, self.prefix + _name(channel, "channel"))

    # --- the whole store ----------------------------------------------------------

    def clear(self) -> None:
        if not self.prefix:
            raise ValueError("clear() needs a key prefix: with an empty one it would empty the whole "
                             "Redis database")
        batch: list[str] = []
        for key in self.client.scan_iter(match=_glob_escape(self.prefix) + "*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                self.client.delete(*batch)
                batch = []
        if batch:
            self.client.delete(*batch)


class RedisSubscription(Subscription):
    """One pubsub connection listening on one channel, subscribed before the constructor returns."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._channel = channel
        self._pubsub = client.pubsub()
        self._pubsub.subscribe(channel)
        # SUBSCRIBE is only sent so far; the server's confirmation is what makes the subscription
        # live for publishers on other connections. Wait for it, so "from now on" holds.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            message = self._pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if message and message["type"] == "subscribe" and message["channel"] == channel:
                return
        self.close()
        raise redis.TimeoutError(f"Redis did not confirm SUBSCRIBE {channel} within 5 s")

    def get(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                message = self._pubsub.get_message(timeout=remaining)
                # Other types: the re-subscription confirmation after redis-py reconnected.
                if message and message["type"] == "message" and message["channel"] == self._channel:
                    return message["data"]
        except (redis.ConnectionError, redis.TimeoutError):
            # Lost connection: the caller calls again; redis-py reconnects and re-subscribes then.
            # Pause so a Redis restart does not turn the caller into a busy loop.
            time.sleep(min(max(timeout, 0.0), 0.5))
            return None

    def close(self) -> None:
        try:
            self._pubsub.close()
        except redis.RedisError:
            pass


def _name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a {what} name must be a non-empty string, got {name!r}")
    return name


def _ttl(ttl: int | None, method: str) -> int:
    """Seconds, 0 for none; a negative or non-integer ttl is a ValueError naming the method."""
    if ttl is None:
        return 0
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise ValueError(f"{method}: ttl must be a whole number of seconds >= 0 (0: kept), got {ttl!r}")
    return ttl


def _glob_escape(text: str) -> str:
    """``text`` with SCAN's glob characters escaped, so a prefix matches only itself."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
