"""Tasks for the demo (``bash scripts/setup-and-run.sh``)."""
from __future__ import annotations

import gevent

from mrqcore.context import get_current_job, log, retry_current_job
from mrqcore.task import Task


class Square(Task):
    """Returns params['n'] squared, after a short cooperative wait (like an I/O call)."""

    def run(self, params):
        gevent.sleep(0.01)
        return params["n"] ** 2


class Flaky(Task):
    """Fails its first run, succeeds when retried: shows the retry status at work."""

    max_retries = 2
    retry_delay = 0

    def run(self, params):
        job = get_current_job()
        if job.retry_count == 0:
            log.info("first try of %s: asking for a retry", job.id)
            retry_current_job()
        return "ok after %d retry" % job.retry_count
