"""Every Redis key name mrqc uses, in one place.

Only the Redis store (``mrqcore/store/redis*.py``) reads and writes these keys;
tests use the names to inspect Redis. All keys start with the configured prefix (``mrqc:`` by default) so that several
deployments, or parallel test runs, can share one Redis. Lua scripts get the
prefix as an argument and build derived names the same way; the names here and
in ``lua/*.lua`` must agree (each script's header lists the keys it touches).

| key | type | holds |
|---|---|---|
| ``{p}job:{id}`` | hash | the job record (see ``mrqcore.job.FIELDS``) |
| ``{p}joblog:{id}`` | list | the job's log lines |
| ``{p}q:{queue}`` | list | ids of queued jobs, served from the left |
| ``{p}qpri:{step}:{queue}`` | list | ids of queued jobs of a priority step > 0 (record field ``priority``) |
| ``{p}qpris:{queue}`` | set | the queue's priority steps whose list may hold ids (dequeue drops drained ones) |
| ``{p}queues`` | set | every queue name ever used |
| ``{p}paused`` | set | paused queue names |
| ``{p}scheduled`` | zset | ids of jobs waiting for a time (retry delay, countdown, ETA), scored by due time |
| ``{p}inflight:{worker}`` | zset | ids a worker holds, scored by start time |
| ``{p}workers`` | zset | worker ids, scored by last heartbeat |
| ``{p}worker:{worker}`` | hash | a worker's last report |
| ``{p}notify`` | pubsub channel | "jobs were queued", wakes idle workers |
| ``{p}done:{id}`` | pubsub channel | the job finished, wakes ``Job.wait`` |
| ``{p}rawq:{queue}`` | list, set or zset | raw items of a raw queue (type by suffix, see ``mrqcore.raw``) |
| ``{p}rawinflight:{worker}`` | hash | raw items a worker popped but has not turned into jobs yet (job id -> JSON) |
| ``{p}rawworkers`` | set | worker ids that may have a ``rawinflight`` hash (recovery looks there) |
| ``{p}running:{path}`` | zset | ids of started jobs of a task with ``max_concurrency``, scored by start time |
| ``{p}ratelimit:{key}:{window}`` | string | ``ratelimit()`` counter of one fixed window (expires) |
| ``{p}gcra:{key}`` | string | ``space_calls()``: theoretical arrival time of ``key``'s next call (GCRA; expires when idle) |
| ``{p}interrupted`` | zset | ids of jobs that ended ``interrupt``, scored by time; recovery requeues them |
| ``{p}lock:{name}`` | string | a short maintenance lock (recovery of one dead worker, one pass) |
| ``{p}sched:last:{entry}`` | string | the latest due time a scheduler queued for one schedule entry |
| ``{p}jobidx`` | zset | every job id, scored by the time it was last queued (the dashboard's job list) |
| ``{p}jobidx:{status}`` | zset | ids of jobs that reached a finished status (or ``retry``), scored by that time; pruned as read |
| ``{p}{name}`` | hash, string, channel | a workflow barrier, value or channel its caller names (``redis_workflow``) |
"""
from __future__ import annotations


class Keys:
    """Key names under one prefix."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def job(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def joblog(self, job_id: str) -> str:
        return f"{self.prefix}joblog:{job_id}"

    def queue(self, name: str) -> str:
        return f"{self.prefix}q:{name}"

    def queue_step(self, name: str, step: int) -> str:
        """The list of a priority step > 0 of queue ``name`` (step 0 is ``queue(name)``)."""
        return f"{self.prefix}qpri:{step}:{name}"

    def queue_steps(self, name: str) -> str:
        return f"{self.prefix}qpris:{name}"

    def inflight(self, worker_id: str) -> str:
        return f"{self.prefix}inflight:{worker_id}"

    def worker(self, worker_id: str) -> str:
        return f"{self.prefix}worker:{worker_id}"

    def done_channel(self, job_id: str) -> str:
        return f"{self.prefix}done:{job_id}"

    def raw_queue(self, name: str) -> str:
        return f"{self.prefix}rawq:{name}"

    def raw_inflight(self, worker_id: str) -> str:
        return f"{self.prefix}rawinflight:{worker_id}"

    def running(self, task_path: str) -> str:
        return f"{self.prefix}running:{task_path}"

    def ratelimit(self, key: str, window: int) -> str:
        return f"{self.prefix}ratelimit:{key}:{window}"

    def gcra(self, key: str) -> str:
        return f"{self.prefix}gcra:{key}"

    @property
    def raw_workers(self) -> str:
        return f"{self.prefix}rawworkers"

    @property
    def queues(self) -> str:
        return f"{self.prefix}queues"

    @property
    def paused(self) -> str:
        return f"{self.prefix}paused"

    @property
    def scheduled(self) -> str:
        return f"{self.prefix}scheduled"

    @property
    def workers(self) -> str:
        return f"{self.prefix}workers"

    @property
    def notify_channel(self) -> str:
        return f"{self.prefix}notify"

    @property
    def interrupted(self) -> str:
        return f"{self.prefix}interrupted"

    def lock(self, name: str) -> str:
        return f"{self.prefix}lock:{name}"

    def schedule_last(self, entry_id: str) -> str:
        return f"{self.prefix}sched:last:{entry_id}"

    def job_index(self, status: str | None = None) -> str:
        """``jobidx`` (every job by last queued time) or ``jobidx:{status}`` (jobs that reached it)."""
        return f"{self.prefix}jobidx" if status is None else f"{self.prefix}jobidx:{status}"
