"""Pub/sub wake-ups of the Redis store: ``Waiter`` implementations over redis-py PubSub.

Channels: ``{p}notify`` (jobs were queued: idle workers wake) and ``{p}done:{id}``
(a job finished: ``Job.wait`` wakes). A broken subscription is never an error
to the caller: ``wait`` returns False and the caller re-reads state.
"""
from __future__ import annotations

import time
from typing import Any

import redis

from .base import Waiter


class PubSubWaiter(Waiter):
    """A subscription to one channel; ``wait`` drains every message that arrived."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(channel)
        # Read the subscribe confirmation now, so a later wait() only sees real messages.
        self._pubsub.get_message(timeout=1.0)

    def wait(self, timeout: float) -> bool:
        try:
            message = self._pubsub.get_message(timeout=timeout)
            got = message is not None
            while message is not None:
                message = self._pubsub.get_message(timeout=0)
                got = True
            return got
        except (redis.ConnectionError, redis.TimeoutError):
            # The caller re-reads state anyway; a broken subscription just means "look
            # again". Pause so a Redis restart does not turn callers into a busy loop;
            # redis-py reconnects and resubscribes on the next call.
            time.sleep(min(timeout, 0.5))
            return False

    def close(self) -> None:
        try:
            self._pubsub.close()
        except redis.RedisError:
            pass


class ChannelSubscriber:
    """A long-lived PubSub connection that subscribes to one channel at a time."""

    def __init__(self, client: redis.Redis) -> None:
        self._pubsub = client.pubsub()

    def waiter(self, channel: str) -> Waiter:
        self._pubsub.subscribe(channel)
        # Wait for the confirmation: from then on, a publish on the channel reaches us.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            message = self._pubsub.get_message(timeout=1.0)
            if message and message["type"] == "subscribe" and message["channel"] == channel:
                break
        return _SubscribedWaiter(self._pubsub, channel)


class _SubscribedWaiter(Waiter):
    """Waits on one channel of a shared subscriber; unsubscribes on close."""

    def __init__(self, pubsub: Any, channel: str) -> None:
        self._pubsub = pubsub
        self._channel = channel
        #: the data of the last message received on the channel
        self.message: str | None = None

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                message = self._pubsub.get_message(timeout=remaining)
                if message and message["type"] == "message" and message["channel"] == self._channel:
                    self.message = message["data"]
                    return True
        except (redis.ConnectionError, redis.TimeoutError):
            time.sleep(min(timeout, 0.5))
            return False

    def close(self) -> None:
        try:
            self._pubsub.unsubscribe(self._channel)
        except redis.RedisError:
            pass
