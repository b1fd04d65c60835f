"""Job stores: where job records and queues live.

``base.JobStore`` states the contract; ``redis.RedisJobStore`` is the one in use.
A MongoDB record store and a Redis Cluster store are planned to implement the
same interface (see docs/architecture.md).
"""
from .base import Finish, JobSpec, JobStore

__all__ = ["Finish", "JobSpec", "JobStore"]
