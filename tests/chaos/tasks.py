"""The chaos run's task: count this run of this job, sleep a little, return."""
from __future__ import annotations

import time

import gevent
import redis

from mrqcore.context import connections, get_current_job
from mrqcore.task import Task


class Record(Task):
    """``HINCRBY params['runs'] <job id> 1``, then sleep ``params['sleep']`` seconds (a job in progress).

    Redis restarts mid-run: the count is retried until Redis answers (30 s at
    most), as a task talking to any service would. A count whose reply was
    lost in the restart may be applied twice, so ``run twice`` can only be
    over-reported, never hidden.
    """

    def run(self, params):
        job = get_current_job()
        deadline = time.monotonic() + 30
        while True:
            try:
                connections.redis.hincrby(params["runs"], job.id if job else "local", 1)
                break
            except (redis.ConnectionError, redis.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                gevent.sleep(0.2)
        if params.get("sleep"):
            gevent.sleep(params["sleep"])
        return params["n"]
