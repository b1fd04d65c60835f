"""RedisJobStore: job records as hashes, queues as lists, all transitions in Lua or MULTI.

URL forms: ``redis://host:port/db``, ``rediss://`` (TLS), ``unix:///path.sock?db=N``.
Every key is listed in ``mrqcore.keys``; every multi-key change is one Lua
script (``mrqcore/lua``) or one MULTI/EXEC pipeline, so a crash at any point
leaves each job in exactly one place.
"""
from __future__ import annotations

import importlib.resources
import threading
import time
from typing import Any, Iterable, Sequence

import redis

from ..keys import Keys
from .base import Finish, JobSpec, JobStore, Waiter
from .redis_workflow import RedisWorkflowMixin

_SCRIPTS = ("enqueue", "dequeue", "finish", "promote", "cancel", "requeue")


def _load_script(name: str) -> str:
    return importlib.resources.files("mrqcore").joinpath(f"lua/{name}.lua").read_text()


class RedisJobStore(RedisWorkflowMixin, JobStore):
    """The default store. ``client`` must use ``decode_responses=True``."""

    #: errors after which an operation may be retried once the connection is back
    connection_errors = (redis.ConnectionError, redis.TimeoutError)

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.client = client
        self.keys = Keys(prefix)
        self.prefix = prefix
        self._scripts = {name: client.register_script(_load_script(name)) for name in _SCRIPTS}
        self._local = threading.local()

    # --- queueing -----------------------------------------------------------------

    def enqueue(self, specs: Sequence[JobSpec], now: float) -> list[str]:
        return list(self._scripts["enqueue"](args=self._enqueue_args(specs, now)) or [])

    def enqueue_in(self, pipe: Any, specs: Sequence[JobSpec], now: float) -> None:
        """Add the enqueue of ``specs`` to ``pipe``, a MULTI pipeline the caller executes.

        For writes that must happen together with the enqueue or not at all
        (the scheduler's claim of a due run, under WATCH).
        """
        self._scripts["enqueue"](args=self._enqueue_args(specs, now), client=pipe)

    def _enqueue_args(self, specs: Sequence[JobSpec], now: float) -> list[Any]:
        args: list[Any] = [self.prefix, repr(now)]
        for spec in specs:
            args += (spec.id, spec.queue, repr(spec.due) if spec.due else "0", len(spec.fields))
            for name, value in spec.fields.items():
                args += (name, value)
        return args

    def dequeue(self, worker_id: str, queues: Sequence[str], count: int, now: float) -> list[tuple[str, dict[str, str]]]:
        if count <= 0 or not queues:
            return []
        flat = self._scripts["dequeue"](args=[self.prefix, worker_id, repr(now), count, *queues])
        out = []
        for i in range(0, len(flat), 2):
            pairs = flat[i + 1]
            out.append((flat[i], dict(zip(pairs[::2], pairs[1::2]))))
        return out

    def finish(self, worker_id: str, finishes: Sequence[Finish]) -> None:
        if not finishes:
            return
        args: list[Any] = [self.prefix, worker_id, repr(time.time())]
        for fin in finishes:
            args += (fin.id, fin.status, fin.ttl, "" if fin.due is None else repr(fin.due), len(fin.fields))
            for name, value in fin.fields.items():
                args += (name, value)
            args.append(len(fin.log_lines))
            args += fin.log_lines
        self._scripts["finish"](args=args)

    def promote_due(self, now: float, limit: int = 1000) -> tuple[int, float | None]:
        moved, nxt = self._scripts["promote"](args=[self.prefix, repr(now), limit])
        nxt = float(nxt)
        return int(moved), (None if nxt < 0 else nxt)

    # --- records ------------------------------------------------------------------

    def get(self, job_id: str, fields: Sequence[str] | None = None) -> dict[str, str] | None:
        key = self.keys.job(job_id)
        if fields:
            values = self.redis.hmget(key, list(fields))
            if all(v is None for v in values):
                return None if not self.redis.exists(key) else {}
            return {f: v for f, v in zip(fields, values) if v is not None}
        record = self.redis.hgetall(key)
        return record or None

    def update(self, job_id: str, fields: dict[str, str]) -> None:
        self.redis.hset(self.keys.job(job_id), mapping=fields)

    def cancel(self, job_id: str, now: float, ttl: int) -> str | None:
        return self._scripts["cancel"](args=[self.prefix, job_id, repr(now), ttl]) or None

    def requeue(self, job_id: str, now: float, queue: str | None = None,
                force: bool = False, note: str = "") -> str | None:
        return self._scripts["requeue"](
            args=[self.prefix, job_id, repr(now), queue or "", "1" if force else "0", note]) or None

    def log_lines(self, job_id: str) -> list[str]:
        return self.redis.lrange(self.keys.joblog(job_id), 0, -1)

    def append_log(self, job_id: str, lines: Sequence[str]) -> None:
        if lines:
            self.redis.rpush(self.keys.joblog(job_id), *lines)

    # --- queues and workers -------------------------------------------------------

    def queue_size(self, queue: str) -> int:
        return int(self.redis.llen(self.keys.queue(queue)))

    def known_queues(self) -> list[str]:
        return sorted(self.redis.smembers(self.keys.queues))

    def inflight(self, worker_id: str) -> list[str]:
        return list(self.redis.zrange(self.keys.inflight(worker_id), 0, -1))

    def iter_ids(self) -> Iterable[str]:
        start = len(self.keys.job(""))
        for key in self.redis.scan_iter(match=self.keys.job("*"), count=1000):
            yield key[start:]

    # --- waking up ----------------------------------------------------------------

    def done_waiter(self, job_id: str) -> Waiter:
        # One subscription connection per thread (per greenlet under gevent), reused across
        # waits: redis-py's PubSub.close() disconnects, and a new connection per wait()
        # costs more than the whole job round trip.
        subscriber = getattr(self._local, "done_subscriber", None)
        if subscriber is None:
            subscriber = self._local.done_subscriber = _ChannelSubscriber(self.redis)
        return subscriber.waiter(self.keys.done_channel(job_id))

    def notify_waiter(self) -> Waiter:
        return _PubSubWaiter(self.redis, self.keys.notify_channel)


class _PubSubWaiter(Waiter):
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


class _ChannelSubscriber:
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
