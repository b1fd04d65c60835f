"""Tasks for the worker-pool tests: they behave the same under the gevent and the solo pool."""
from __future__ import annotations

import gevent

from mrqcore.context import connections, get_current_job
from mrqcore.task import Task
from tests.tasks.basic import _key


class Loop(Task):
    """Records that it started, then loops (yielding to gevent) until killed or until its gate opens."""

    def run(self, params):
        redis = connections.redis
        job = get_current_job()
        redis.rpush(_key("loop-started"), job.id)
        while not redis.exists(_key("loop-gate:" + params.get("gate", job.id))):
            gevent.sleep(0.02)
        return "released"
