"""Job stores: where job records, queues and workers' state live.

``base.JobStore`` states the contract, split by family; ``open_store(url,
prefix)`` builds the store its URL's scheme names (``factory.STORES``):
``redis.RedisJobStore`` for ``redis://``, ``rediss://`` and ``unix://``,
``redis_sentinel.SentinelJobStore`` for ``redis+sentinel://``,
``redis_cluster.ClusterJobStore`` for ``redis+cluster://``,
``memory.MemoryJobStore`` for ``memory://``. The store is the only door to
the backend: nothing outside this package talks to Redis. A MongoDB record
store is planned (see docs/architecture.md).
"""
from .base import Finish, JobSpec, JobStore
from .factory import open_store

__all__ = ["Finish", "JobSpec", "JobStore", "open_store"]
