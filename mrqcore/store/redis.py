"""RedisJobStore: job records as hashes, queues as lists, all transitions in Lua or MULTI.

URL forms: ``redis://[:password@]host:port/db``, ``rediss://`` (TLS),
``unix:///path.sock?db=N``; options are redis-py connection pool options
(``socket_timeout``, ``ssl_cert_reqs``...). Every key is listed in
``mrqcore.keys``; every multi-key change is one Lua script (``mrqcore/lua``,
loaded by ``redis_scripts.load_script``) or one MULTI/EXEC pipeline, so a crash
at any point leaves each job in exactly one place.

The store is split by family, one mixin module each, combined here:

| family | module |
|---|---|
| ``JobRecords``, ``QueueStore`` | this module (the job index: ``redis_index``) |
| ``WorkerRegistry`` | ``redis_workers`` |
| ``MaintenanceStore`` | ``redis_maintenance`` |
| ``RawQueueStore`` | ``redis_raw`` |
| ``WorkflowStore`` | ``redis_workflow`` |
| waiters (pub/sub) | ``redis_pubsub`` |

``RedisJobStore.client`` is the redis-py client; user code gets it as
``mrqcore.context.connections.redis``, the one sanctioned way past the store.
Nothing else outside ``mrqcore/store/`` may use it (``tests/test_store_door.py``).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlparse

import redis

from ..exceptions import ConfigError
from ..keys import Keys
from ..urls import mask_url
from .base import Finish, JobSpec, JobStore, Waiter
from .redis_index import RedisJobIndex
from .redis_maintenance import RedisMaintenance
from .redis_pubsub import ChannelSubscriber, PubSubWaiter
from .redis_raw import RedisRawQueues
from .redis_scripts import RedisStoreBase, enqueue_args, load_script
from .redis_workers import RedisWorkerRegistry
from .redis_workflow import RedisWorkflowMixin

#: URL schemes this store serves (``mrqcore.store.open_store`` picks it for them)
SCHEMES = ("redis", "rediss", "unix")
#: scripts of the hot path, registered when the store is built
_HOT_SCRIPTS = ("enqueue", "dequeue", "finish", "promote")

_pools: list[redis.ConnectionPool] = []

logger = logging.getLogger("mrqc.store")


class RedisJobStore(
    RedisWorkflowMixin,
    RedisJobIndex,
    RedisWorkerRegistry,
    RedisMaintenance,
    RedisRawQueues,
    RedisStoreBase,
    JobStore,
):
    """The default store. ``client`` must use ``decode_responses=True``."""

    connection_errors = (redis.ConnectionError, redis.TimeoutError)
    backend_errors = (redis.RedisError,)

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.keys = Keys(prefix)
        self.prefix = prefix
        self._scripts = {name: load_script(client, name) for name in _HOT_SCRIPTS}
        #: queue name -> when its unreadable key was last logged
        self._bad_queues_logged: dict[str, float] = {}
        self._local = threading.local()

    @classmethod
    def from_url(cls, url: str, prefix: str, **options: Any) -> "RedisJobStore":
        """A store on a new client for ``url`` (see ``connect``)."""
        return cls(connect(url, **options), prefix)

    def close(self) -> None:
        self.client.connection_pool.disconnect()

    def ping(self) -> None:
        self.client.ping()

    # --- the hot path -------------------------------------------------------------

    def enqueue(self, specs: Sequence[JobSpec], now: float) -> list[str]:
        return list(self._scripts["enqueue"](args=enqueue_args(self.prefix, specs, now)) or [])

    def dequeue(self, worker_id: str, queues: Sequence[str], count: int, now: float) -> list[tuple[str, dict[str, str]]]:
        if count <= 0 or not queues:
            return []
        flat, bad = self._scripts["dequeue"](args=[self.prefix, worker_id, repr(now), count, *queues])
        if bad:
            self._report_bad_queues(bad, now)
        out = []
        for i in range(0, len(flat), 2):
            pairs = flat[i + 1]
            out.append((flat[i], dict(zip(pairs[::2], pairs[1::2]))))
        return out

    #: error replies that mean "not now" rather than "never" (out of memory, a busy script,
    #: a replica that is not writable yet, a failover in progress)
    TRANSIENT_REPLIES = ("OOM", "BUSY", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "LOADING",
                         "NOREPLICAS")

    def is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, redis.AuthenticationError):  # a ConnectionError to redis-py, but final
            return False
        if isinstance(exc, self.connection_errors):
            return True
        return isinstance(exc, redis.ResponseError) and str(exc).startswith(self.TRANSIENT_REPLIES)

    def _report_bad_queues(self, bad: Sequence[str], now: float) -> None:
        """Log each unreadable queue key (not a list) at most once a minute: it is skipped, never fatal."""
        for queue, error in zip(bad[::2], bad[1::2]):
            if now - self._bad_queues_logged.get(queue, 0.0) >= 60.0:
                self._bad_queues_logged[queue] = now
                logger.error("queue %r cannot be read and is skipped: key %s is not a list (%s); "
                             "delete or rename that key to serve the queue again",
                             queue, self.keys.queue(queue), error)

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
            values = self.client.hmget(key, list(fields))
            if all(v is None for v in values):
                return None if not self.client.exists(key) else {}
            return {f: v for f, v in zip(fields, values) if v is not None}
        record = self.client.hgetall(key)
        return record or None

    def get_many(self, job_ids: Sequence[str], fields: Sequence[str]) -> list[dict[str, str] | None]:
        if not job_ids:
            return []
        fields = list(fields)
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hmget(self.keys.job(job_id), fields)
        out: list[dict[str, str] | None] = [
            {f: v for f, v in zip(fields, values) if v is not None} for values in pipe.execute()]
        # A record with none of the fields reads like no record: ask those (rare) ones again.
        empty = [i for i, record in enumerate(out) if not record]
        if empty:
            pipe = self.client.pipeline(transaction=False)
            for i in empty:
                pipe.exists(self.keys.job(job_ids[i]))
            for i, found in zip(empty, pipe.execute()):
                if not found:
                    out[i] = None
        return out

    def update(self, job_id: str, fields: Mapping[str, str]) -> None:
        self.client.hset(self.keys.job(job_id), mapping=dict(fields))

    def delete(self, job_ids: Sequence[str]) -> int:
        if not job_ids:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.delete(self.keys.job(job_id))
        pipe.delete(*[self.keys.joblog(job_id) for job_id in job_ids])
        return sum(int(n) for n in pipe.execute()[:-1])

    def cancel(self, job_id: str, now: float, ttl: int) -> str | None:
        return self._script("cancel")(args=[self.prefix, job_id, repr(now), ttl]) or None

    def requeue(self, job_id: str, now: float, queue: str | None = None,
                force: bool = False, note: str = "") -> str | None:
        return self._script("requeue")(
            args=[self.prefix, job_id, repr(now), queue or "", "1" if force else "0", note]) or None

    def log_lines(self, job_id: str) -> list[str]:
        return self.client.lrange(self.keys.joblog(job_id), 0, -1)

    def append_log(self, job_id: str, lines: Sequence[str]) -> None:
        if lines:
            self.client.rpush(self.keys.joblog(job_id), *lines)

    def iter_ids(self) -> Iterable[str]:
        start = len(self.keys.job(""))
        for key in self.client.scan_iter(match=self.keys.job("*"), count=1000):
            yield key[start:]

    # --- queues -------------------------------------------------------------------

    def queue_size(self, queue: str) -> int:
        pipe = self.client.pipeline(transaction=False)
        pipe.llen(self.keys.queue(queue))
        pipe.smembers(self.keys.queue_steps(queue))
        size, steps = pipe.execute()
        if not steps:  # the common case: one round trip
            return int(size)
        pipe = self.client.pipeline(transaction=False)
        pipe.llen(self.keys.queue(queue))
        for step in steps:
            pipe.llen(self.keys.queue_step(queue, int(step)))
        return sum(int(n) for n in pipe.execute())

    def known_queues(self) -> list[str]:
        return sorted(self.client.smembers(self.keys.queues))

    def purge_queue(self, queue: str) -> int:
        lists = [self.keys.queue(queue)] + [self.keys.queue_step(queue, int(step))
                                            for step in self.client.smembers(self.keys.queue_steps(queue))]
        pipe = self.client.pipeline(transaction=True)
        for key in lists:
            pipe.llen(key)
        pipe.delete(*lists)
        return sum(int(n) for n in pipe.execute()[:len(lists)])

    def pause_queue(self, name: str) -> None:
        self.client.sadd(self.keys.paused, name)

    def resume_queue(self, name: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.srem(self.keys.paused, name)
        pipe.publish(self.keys.notify_channel, 1)
        pipe.execute()

    def paused_queues(self) -> set[str]:
        return set(self.client.smembers(self.keys.paused))

    def queue_state(self) -> tuple[set[str], set[str]]:
        pipe = self.client.pipeline(transaction=False)
        pipe.smembers(self.keys.queues)
        pipe.smembers(self.keys.paused)
        known, paused = pipe.execute()
        return set(known), set(paused)

    # --- waking up ----------------------------------------------------------------

    def done_waiter(self, job_id: str) -> Waiter:
        # One subscription connection per thread (per greenlet under gevent), reused across
        # waits: redis-py's PubSub.close() disconnects, and a new connection per wait()
        # costs more than the whole job round trip.
        subscriber = getattr(self._local, "done_subscriber", None)
        if subscriber is None:
            subscriber = self._local.done_subscriber = ChannelSubscriber(self.client)
        return subscriber.waiter(self.keys.done_channel(job_id))

    def notify_waiter(self) -> Waiter:
        return PubSubWaiter(self.client, self.keys.notify_channel)


def connect(url: str, **options: Any) -> redis.Redis:
    """A decoded-responses Redis client for ``url``; a bad URL is a ConfigError naming 'redis'.

    ``options`` go to redis-py's ``ConnectionPool.from_url``. Pools are remembered so
    ``close_all_pools`` can close them at exit (the embedded server counts clients).
    """
    scheme = urlparse(url).scheme
    if scheme in ("redis+sentinel", "sentinel"):  # the master the sentinels name (mrqcore.store.redis_sentinel)
        from .redis_sentinel import connect_sentinel
        return connect_sentinel(url, **options)
    if scheme not in SCHEMES:
        raise ConfigError("redis", f"unsupported URL scheme {scheme!r} in {mask_url(url)!r} "
                                   "(use redis://, rediss://, unix://, redis+sentinel:// or sentinel://)")
    options.setdefault("health_check_interval", 30)
    try:
        # surrogateescape: a byte that is not UTF-8 in a record (written by another program, or
        # corrupted) decodes to a lone surrogate instead of failing the whole reply, so only the
        # job holding it fails (MalformedJobError, naming the field), and it encodes back to the
        # same byte if written again.
        options.setdefault("encoding_errors", "surrogateescape")
        pool = redis.ConnectionPool.from_url(url, decode_responses=True, **options)
    except (ValueError, TypeError) as exc:
        raise ConfigError("redis", f"cannot parse {mask_url(url)!r}: {mask_url(str(exc))}") from exc
    _pools.append(pool)
    return redis.Redis(connection_pool=pool)


def close_all_pools() -> None:
    """Disconnect every pool ``connect`` made (at exit)."""
    for pool in _pools:
        try:
            pool.disconnect()
        except Exception:  # at exit, a pool may already be half torn down
            pass
