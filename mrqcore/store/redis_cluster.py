"""Redis Cluster: the Redis store spread over the cluster's shards, one hash slot per queue.

Redis Cluster runs a Lua script only when every key it touches hashes to one
slot. The single-node store's scripts build their keys from a prefix passed as
an argument (``mrqcore/lua``), so ``ClusterJobStore`` runs the same scripts
with a *namespace* prefix that carries a hash tag: each queue is a namespace,
and everything a script touches for that queue (the queue list, its jobs'
records and logs, its scheduled set, job index, the workers' inflight sets of
its jobs) lives in that queue's slot. Queues therefore spread over the shards,
and adding shards adds throughput; operations that span queues (a worker's
dequeue from several queues, promotion of scheduled jobs, recovery, the job
index, worker reports) are split per namespace in Python.

URL forms (``redis`` setting, ``mrqc worker --redis``):

| form (parsed by ``redis_cluster_url``) | meaning |
|---|---|
| ``redis+cluster://h1:7000,h2:7001/`` | startup nodes (any reachable ones; the rest are discovered) |
| ``rediss+cluster://...`` | the same over TLS |
| ``redis+cluster://:pw@h1:7000/`` | ``pw``: every node's password |
| ``redis+cluster://user:pw@h1:7000/`` | ACL user and password |

The path must be empty, ``/`` or ``/0`` (a cluster has database 0 only). Query
parameters (unknown ones are a ConfigError naming the ``redis`` setting):
``socket_timeout``, ``socket_connect_timeout`` (seconds), ``ssl_cert_reqs``,
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile`` (TLS).

Keys (``P`` = the prefix, ``Q`` = a queue name):

| keys | slot (hash tag) |
|---|---|
| ``P q{Q}:`` + every ``mrqcore.keys`` name of queue Q and its jobs | ``Q`` |
| ``P g{g}:`` + ``queues``, ``paused``, ``workers``, ``worker:{id}``, ``lock:*``, ``sched:last:*`` | ``g`` |
| ``P r{K}:`` + ``ratelimit:K:*``, ``gcra:K``, ``running:K`` (``K``: a rate-limit key or task path) | ``K`` |
| ``P loc:{id}`` | the job's locator: the queue whose namespace holds the record |
| ``P {name}`` | barriers, values, channels named by the caller (one key each) |

What differs from the single-node store (docs/scaling.md): moving a job to
another queue (``requeue(..., queue=...)``), a schedule claim's enqueue after
its marker, and ``max_concurrency`` slots span slots and are not one atomic
step (each step is idempotent; the windows are listed there).
"""
from __future__ import annotations

import threading
from typing import Any, Iterable, Mapping, Sequence

import redis
from redis.cluster import RedisCluster
from redis.exceptions import ClusterDownError, TryAgainError

from ..exceptions import ConfigError
from .base import Finish, JobSpec, Subscription, Waiter
from .redis import RedisJobStore
from .redis_cluster_keys import ClusterKeys, _Namespace
from .redis_cluster_span import ClusterSpanMixin
from .redis_cluster_url import SCHEMES, connect_cluster, parse_cluster_url
from .redis_pubsub import ChannelSubscriber, PubSubWaiter
from .redis_scripts import load_script
from .redis_workflow import RedisSubscription, _name, _ttl

#: seconds a job's locator outlives its record's TTL (a reader then finds no record, as it should)
LOCATOR_SLACK = 60


class ClusterJobStore(ClusterSpanMixin, RedisJobStore):
    """The Redis store on a Redis Cluster (see the module docstring for the key layout)."""

    connection_errors = (redis.ConnectionError, redis.TimeoutError, ClusterDownError, TryAgainError)
    backend_errors = (redis.RedisError,)

    def __init__(self, client: RedisCluster, prefix: str) -> None:
        if "{" in prefix or "}" in prefix:
            raise ConfigError("redis_prefix", f"{prefix!r}: on a Redis Cluster the key prefix must not contain "
                                              "'{' or '}' (the store places its own hash tags after it)")
        self.client = client
        self.prefix = prefix
        self._local = threading.local()
        self._bad_queues_logged: dict[str, float] = {}
        #: the namespace of the store-wide keys (queue names, pauses, workers, locks, schedule markers)
        self.g = _Namespace(client, f"{prefix}g{{g}}:")
        self._spaces: dict[str, _Namespace] = {}
        #: job id -> queue of jobs this process dequeued (spares a locator read at finish)
        self._held: dict[str, str] = {}
        self.keys = ClusterKeys(self)
        #: queue names this process added to the store-wide set (``clear`` forgets them)
        self._known: set[str] = set()

    @classmethod
    def from_url(cls, url: str, prefix: str, **options: Any) -> "ClusterJobStore":
        """A store on a new cluster client for ``url`` (forms in the module docstring)."""
        return cls(connect_cluster(url, **options), prefix)

    def close(self) -> None:
        self.client.disconnect_connection_pools()

    def ping(self) -> None:
        self.client.ping()

    # --- namespaces -----------------------------------------------------------------

    def space(self, queue: str) -> _Namespace:
        """The namespace (one hash slot) of ``queue``: its list, its jobs, their indexes."""
        found = self._spaces.get(queue)
        if found is None:
            found = self._spaces[queue] = _Namespace(self.client, f"{self.prefix}q{{{queue}}}:")
        return found

    def _know_queues(self, queues: Iterable[str]) -> None:
        """Add queue names to the store-wide ``queues`` set (once per name and process: it only grows)."""
        new = [queue for queue in queues if queue not in self._known]
        if new:
            self.client.sadd(self.g.keys.queues, *new)
            self._known.update(new)

    def locator(self, job_id: str) -> str:
        return f"{self.prefix}loc:{job_id}"

    def locate(self, job_id: str) -> _Namespace | None:
        """The namespace holding ``job_id``'s record, by its locator (None: no such job)."""
        queue = self.client.get(self.locator(job_id))
        return None if queue is None else self.space(queue)

    def locate_many(self, job_ids: Sequence[str]) -> list[str | None]:
        """The queue of each job's namespace (None: unknown), one pipelined round."""
        if not job_ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.get(self.locator(job_id))
        return list(pipe.execute())

    def spaces(self) -> list[_Namespace]:
        """Every queue's namespace (the names in the ``queues`` set)."""
        return [self.space(queue) for queue in sorted(self.client.smembers(self.g.keys.queues))]

    def _expire_locators(self, ttls: Mapping[str, int], persist: Sequence[str] = ()) -> None:
        if ttls:
            self._locators("expire", [(self.locator(job_id), int(ttl) + LOCATOR_SLACK) for job_id, ttl in ttls.items()])
        if persist:
            self._locators("persist", [(self.locator(job_id), "") for job_id in persist])

    def _locators(self, mode: str, pairs: Sequence[tuple[str, Any]]) -> list[Any]:
        """``locators.lua`` on each node for the locator keys of its slots (one call per node, not one
        command per job); a node that refuses (a slot moved) gets one routed command per key instead."""
        out: list[Any] = [None] * len(pairs)
        groups: dict[str, tuple[Any, list[int]]] = {}
        for i, (key, _) in enumerate(pairs):
            node = self.client.get_node_from_key(key)
            groups.setdefault(node.name, (node, []))[1].append(i)
        for node, indexes in groups.values():
            args: list[Any] = [mode]
            for i in indexes:
                args += pairs[i]
            try:
                replies = load_script(self.client.get_redis_connection(node), "locators")(args=args)
            except redis.ResponseError:
                replies = self._locators_routed(mode, [pairs[i] for i in indexes])
            for i, reply in zip(indexes, replies):
                out[i] = reply
        return out

    def _locators_routed(self, mode: str, pairs: Sequence[tuple[str, Any]]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for key, value in pairs:
            if mode == "claim":
                pipe.set(key, value, nx=True, get=True)
            elif mode == "expire":
                pipe.expire(key, value)
            else:
                pipe.persist(key)
        replies = pipe.execute()
        return [reply or "" for reply in replies] if mode == "claim" else replies

    # --- the hot path -------------------------------------------------------------

    def enqueue(self, specs: Sequence[JobSpec], now: float) -> list[str]:
        if not specs:
            return []
        # Locators first: a job is findable by id from the moment its record exists.
        self._know_queues({spec.queue for spec in specs})
        previous = self._locators("claim", [(self.locator(spec.id), spec.queue) for spec in specs])
        skipped: list[str] = []
        groups: dict[str, list[JobSpec]] = {}
        for spec, old in zip(specs, previous):
            if old and old != spec.queue:
                if self.client.exists(self.space(old).keys.job(spec.id)):
                    skipped.append(spec.id)  # a live record under another queue: queued at most once
                    continue
                self.client.set(self.locator(spec.id), spec.queue)  # a stale locator
            groups.setdefault(spec.queue, []).append(spec)
        for queue, group in groups.items():
            skipped += self.space(queue).enqueue(group, now)
        return skipped

    def dequeue(self, worker_id: str, queues: Sequence[str], count: int,
                now: float) -> list[tuple[str, dict[str, str]]]:
        out: list[tuple[str, dict[str, str]]] = []

        def take(queue: str, n: int) -> None:
            got = self.space(queue).dequeue(worker_id, [queue], n, now)
            for job_id, _ in got:
                self._held[job_id] = queue
            out.extend(got)

        if len(queues) == 1:
            take(queues[0], count)  # one slot: the script's own order (own list, then steps by step)
        else:
            # As the single-node script: every queue's own list first, in order; then the priority steps by
            # increasing step, queues in order within a step. Each queue is in its own slot, so this is read
            # (LLEN, SMEMBERS) then taken per queue: exact when one worker serves them, a best effort between
            # workers racing on the same queues (never a loss: what one misses, the next dequeue takes).
            for queue in queues:
                if len(out) >= count:
                    break
                space = self.space(queue)
                waiting = int(space.client.llen(space.keys.queue(queue)))
                if waiting:
                    take(queue, min(count - len(out), waiting))
            if len(out) < count:
                steps: dict[str, set[int]] = {}
                for queue in queues:
                    space = self.space(queue)
                    steps[queue] = {int(step) for step in space.client.smembers(space.keys.queue_steps(queue))}
                for step in sorted(set().union(*steps.values())):
                    for queue in queues:
                        if len(out) >= count:
                            break
                        if step in steps[queue]:
                            space = self.space(queue)
                            waiting = int(space.client.llen(space.keys.queue_step(queue, step)))
                            if waiting:
                                take(queue, min(count - len(out), waiting))
        if len(self._held) > 100_000:  # jobs dequeued here but finished elsewhere: forget, the locator knows
            self._held.clear()
        return out

    def finish(self, worker_id: str, finishes: Sequence[Finish]) -> None:
        if not finishes:
            return
        queues = [self._held.pop(fin.id, None) for fin in finishes]
        missing = [fin.id for fin, queue in zip(finishes, queues) if queue is None]
        found = dict(zip(missing, self.locate_many(missing)))
        groups: dict[str, list[Finish]] = {}
        for fin, queue in zip(finishes, queues):
            queue = queue or found.get(fin.id)
            if queue is None:  # no record anywhere: the single-node store would write a bare one
                queue = fin.fields.get("queue") or "default"
                self.client.set(self.locator(fin.id), queue, nx=True)
            groups.setdefault(queue, []).append(fin)
        for queue, group in groups.items():
            self.space(queue).finish(worker_id, group)
        self._expire_locators({fin.id: fin.ttl for fin in finishes if fin.ttl > 0})

    def promote_due(self, now: float, limit: int = 1000) -> tuple[int, float | None]:
        moved, nxt = 0, None
        for space in self.spaces():
            if moved < limit:
                n, due = space.promote_due(now, limit - moved)
            else:
                n, due = 0, _next_due(space)
            moved += n
            if due is not None and (nxt is None or due < nxt):
                nxt = due
        return moved, nxt

    # --- records ------------------------------------------------------------------

    def get(self, job_id: str, fields: Sequence[str] | None = None) -> dict[str, str] | None:
        space = self.locate(job_id)
        return None if space is None else space.get(job_id, fields)

    def get_many(self, job_ids: Sequence[str], fields: Sequence[str]) -> list[dict[str, str] | None]:
        queues = self.locate_many(job_ids)
        out: list[dict[str, str] | None] = [None] * len(job_ids)
        groups: dict[str, list[int]] = {}
        for i, queue in enumerate(queues):
            if queue is not None:
                groups.setdefault(queue, []).append(i)
        for queue, indexes in groups.items():
            for i, record in zip(indexes, self.space(queue).get_many([job_ids[i] for i in indexes], fields)):
                out[i] = record
        return out

    def update(self, job_id: str, fields: Mapping[str, str]) -> None:
        space = self.locate(job_id)
        if space is not None:
            space.update(job_id, fields)

    def delete(self, job_ids: Sequence[str]) -> int:
        deleted = 0
        for job_id, queue in zip(job_ids, self.locate_many(job_ids)):
            if queue is not None:
                deleted += self.space(queue).delete([job_id])
                self.client.delete(self.locator(job_id))
        return deleted

    def cancel(self, job_id: str, now: float, ttl: int) -> str | None:
        space = self.locate(job_id)
        if space is None:
            return None
        before = space.cancel(job_id, now, ttl)
        if before in ("queued", "retry") and ttl > 0:
            self._expire_locators({job_id: ttl})
        return before

    def requeue(self, job_id: str, now: float, queue: str | None = None,
                force: bool = False, note: str = "") -> str | None:
        space = self.locate(job_id)
        if space is None:
            return None
        if queue:
            self._know_queues([queue])
        source = space.prefix
        if queue and self.space(queue).prefix != source:
            return self._move(job_id, space, queue, now, force, note)
        before = space.requeue(job_id, now, queue, force, note)
        if before is not None:
            self._expire_locators({}, persist=[job_id])
        return before

    def log_lines(self, job_id: str) -> list[str]:
        space = self.locate(job_id)
        return [] if space is None else space.log_lines(job_id)

    def append_log(self, job_id: str, lines: Sequence[str]) -> None:
        space = self.locate(job_id)
        if space is not None:
            space.append_log(job_id, lines)

    def iter_ids(self) -> Iterable[str]:
        start, marker = len(self.prefix) + 2, "}:job:"
        for key in self.client.scan_iter(match=_glob_escape(self.prefix) + "q{*}:job:*", count=1000):
            at = key.find(marker, start)
            if at >= 0:
                yield key[at + len(marker):]

    # --- queues -------------------------------------------------------------------

    def queue_size(self, queue: str) -> int:
        return self.space(queue).queue_size(queue)

    def known_queues(self) -> list[str]:
        return self.g.known_queues()

    def purge_queue(self, queue: str) -> int:
        return self.space(queue).purge_queue(queue)

    def pause_queue(self, name: str) -> None:
        # The namespace's own set is what its scripts read; the store-wide one lists every pause.
        self.space(name).client.sadd(self.space(name).keys.paused, name)
        self.client.sadd(self.g.keys.paused, name)

    def resume_queue(self, name: str) -> None:
        space = self.space(name)
        self.client.srem(space.keys.paused, name)
        self.client.srem(self.g.keys.paused, name)
        self.client.publish(space.keys.notify_channel, 1)

    def paused_queues(self) -> set[str]:
        return self.g.paused_queues()

    def queue_state(self) -> tuple[set[str], set[str]]:
        return self.g.queue_state()

    # --- waking up ----------------------------------------------------------------

    def done_waiter(self, job_id: str) -> Waiter:
        space = self.locate(job_id) or self.g
        subscriber = getattr(self._local, "done_subscriber", None)
        if subscriber is None:
            subscriber = self._local.done_subscriber = ChannelSubscriber(self.client)
        return subscriber.waiter(space.keys.done_channel(job_id))

    def notify_waiter(self) -> Waiter:
        return _PatternWaiter(self.client, _glob_escape(self.prefix) + "q{*}:notify")

    # --- workflow: held jobs, barriers, values, messages ----------------------------

    def release_held(self, job_id: str, now: float, fields: Mapping[str, str]) -> bool:
        space = self.locate(job_id)
        return space is not None and space.release_held(job_id, now, fields)

    def fail_held(self, job_id: str, now: float, status: str, fields: Mapping[str, str], ttl: int) -> bool:
        space = self.locate(job_id)
        if space is None or not space.fail_held(job_id, now, status, fields, ttl):
            return False
        if ttl > 0:
            self._expire_locators({job_id: ttl})
        return True

    def barrier_add(self, barrier: str, index: int, value: str, size: int, ttl: int) -> dict[int, str] | None:
        if size < 1 or not 0 <= index < size:
            raise ValueError(f"barrier_add({barrier!r}): part index {index!r} is not in 0..size-1 "
                             f"(size {size!r})")
        key = self.prefix + _name(barrier, "barrier")
        flat = load_script(self.client, "barrier_add")(keys=[key], args=[self.prefix, barrier, index, value, size,
                                                                         _ttl(ttl, "barrier_add")])
        if not flat:
            return None
        return {int(part): data for part, data in zip(flat[::2], flat[1::2])}

    def publish(self, channel: str, message: str) -> int:
        # A cluster PUBLISH counts the receivers of the node it ran on: publish where subscribers of
        # this channel connect (the node of its slot; RedisSubscription's pubsub picks the same one).
        name = self.prefix + _name(channel, "channel")
        node = self.client.get_node_from_key(name)
        return int(self.client.publish(name, message, target_nodes=node))

    def subscribe(self, channel: str) -> Subscription:
        return RedisSubscription(self.client, self.prefix + _name(channel, "channel"))

    def clear(self) -> None:
        super().clear()
        self._known.clear()
        self._spaces.clear()
        self._held.clear()

    # --- maintenance (single keys) ---------------------------------------------------

    def try_lock(self, name: str, token: str, ttl: float) -> bool:
        return self.g.try_lock(name, token, ttl)

    def unlock(self, name: str, token: str) -> None:
        self.g.unlock(name, token)

    def ratelimit(self, key: str, limit: int, per: float) -> int:
        return self.keyed(key).ratelimit(key, limit, per)

    def space_calls(self, key: str, interval: float, burst: int = 1) -> float:
        return self.keyed(key).space_calls(key, interval, burst)

    def keyed(self, key: str) -> _Namespace:
        """The namespace of one rate-limit key or task path (its own slot)."""
        return _Namespace(self.client, f"{self.prefix}r{{{key}}}:")


class _PatternWaiter(PubSubWaiter):
    """``PubSubWaiter`` on a channel pattern (every queue namespace's ``notify``)."""

    def __init__(self, client: Any, pattern: str) -> None:
        self._pubsub = client.pubsub(ignore_subscribe_messages=True)
        self._pubsub.psubscribe(pattern)
        self._pubsub.get_message(timeout=1.0)


def _next_due(space: _Namespace) -> float | None:
    nxt = space.client.zrange(space.keys.scheduled, 0, 0, withscores=True)
    return float(nxt[0][1]) if nxt else None


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


__all__ = ["SCHEMES", "ClusterJobStore", "ClusterKeys", "connect_cluster", "parse_cluster_url"]
