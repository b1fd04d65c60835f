"""The cluster store's namespaces and key names: one hash slot per queue (``mrqcore.store.redis_cluster``).

``_Namespace`` is the single-node store's code bound to one namespace prefix
(which carries the hash tag), its scripts routed to that slot's node.
``ClusterKeys`` resolves ``mrqcore.keys`` names into the cluster layout, for
inspection (``Runtime.keys``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from redis.cluster import RedisCluster

from ..keys import Keys
from .redis import RedisJobStore
from .redis_scripts import load_script

if TYPE_CHECKING:
    from .redis_cluster import ClusterJobStore


class _Namespace(RedisJobStore):
    """The single-node store's code on one namespace (one hash slot) of the cluster.

    Every script call names the namespace prefix as its one key, so the cluster
    client routes it to the node serving that slot (the scripts build their
    other keys from the same prefix, all in that slot).
    """

    def __init__(self, client: RedisCluster, prefix: str) -> None:
        super().__init__(client, prefix)
        self._scripts = {name: _Routed(script, prefix) for name, script in self._scripts.items()}

    def _script(self, name: str) -> Any:
        return _Routed(load_script(self.client, name), self.prefix)


class _Routed:
    """A script called with ``keys=[namespace prefix]``: the cluster client's route to its slot."""

    __slots__ = ("script", "key")

    def __init__(self, script: Any, key: str) -> None:
        self.script, self.key = script, key

    def __call__(self, args: Sequence[Any] = (), client: Any = None) -> Any:
        return self.script(keys=[self.key], args=list(args), client=client)


class ClusterKeys(Keys):
    """Key names of a cluster store, for inspection (``Runtime.keys``): each resolved to the slot it lives in.

    A job's names follow its locator; a queue's and a raw queue's are in the
    queue's namespace; workers, locks, pauses and schedule markers in the
    store-wide one; rate limits and ``running`` in their key's own slot.
    Names that exist once per queue namespace (``scheduled``, ``interrupted``,
    ``inflight``, ``raw_inflight``, ``raw_workers``, ``job_index``,
    ``notify_channel``) give the store-wide namespace's name here: read a
    queue's own with ``store.space(queue).keys``.
    """

    __slots__ = ("_store",)

    def __init__(self, store: ClusterJobStore) -> None:
        super().__init__(store.prefix)
        self._store = store

    def _home(self, job_id: str) -> Keys:
        return (self._store.locate(job_id) or self._store.g).keys

    def job(self, job_id: str) -> str:
        return self._home(job_id).job(job_id)

    def joblog(self, job_id: str) -> str:
        return self._home(job_id).joblog(job_id)

    def done_channel(self, job_id: str) -> str:
        return self._home(job_id).done_channel(job_id)

    def queue(self, name: str) -> str:
        return self._store.space(name).keys.queue(name)

    def raw_queue(self, name: str) -> str:
        return self._store.space(name).keys.raw_queue(name)

    def running(self, task_path: str) -> str:
        return self._store.keyed(task_path).keys.running(task_path)

    def ratelimit(self, key: str, window: int) -> str:
        return self._store.keyed(key).keys.ratelimit(key, window)

    def gcra(self, key: str) -> str:
        return self._store.keyed(key).keys.gcra(key)

    def inflight(self, worker_id: str) -> str:
        return self._store.g.keys.inflight(worker_id)

    def worker(self, worker_id: str) -> str:
        return self._store.g.keys.worker(worker_id)

    def raw_inflight(self, worker_id: str) -> str:
        return self._store.g.keys.raw_inflight(worker_id)

    def lock(self, name: str) -> str:
        return self._store.g.keys.lock(name)

    def schedule_last(self, entry_id: str) -> str:
        return self._store.g.keys.schedule_last(entry_id)

    def job_index(self, status: str | None = None) -> str:
        return self._store.g.keys.job_index(status)

    raw_workers = property(lambda self: self._store.g.keys.raw_workers)
    queues = property(lambda self: self._store.g.keys.queues)
    paused = property(lambda self: self._store.g.keys.paused)
    scheduled = property(lambda self: self._store.g.keys.scheduled)
    workers = property(lambda self: self._store.g.keys.workers)
    notify_channel = property(lambda self: self._store.g.keys.notify_channel)
    interrupted = property(lambda self: self._store.g.keys.interrupted)
