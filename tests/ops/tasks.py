"""MRQ-style tasks of the operations tests (Sentry, logs, metrics)."""
from __future__ import annotations

import gevent

from mrqcore.context import abort_current_job, get_current_job, log, retry_current_job
from mrqcore.task import Task


class OpsError(Exception):
    """What the failing tasks raise."""


class Boom(Task):
    def run(self, params):
        log.info("about to fail on %s", params.get("what"))
        raise OpsError(f"boom on {params.get('what')}")


class Hello(Task):
    def run(self, params):
        log.info("hello-line %s", params.get("n"))
        return params.get("n")


class FlakyOnce(Task):
    """Fails and retries on its first try, succeeds on the second."""

    def run(self, params):
        if get_current_job().retry_count == 0:
            try:
                raise OpsError("first try fails")
            except OpsError:
                retry_current_job(delay=0, max_retries=3)
        return "second try"


class AlwaysRetry(Task):
    """Retries until it runs out of retries (max_retries=1)."""

    def run(self, params):
        try:
            raise OpsError("never works")
        except OpsError:
            retry_current_job(delay=0, max_retries=1)


class Slow(Task):
    """Runs past its timeout (set by the test's config)."""

    def run(self, params):
        gevent.sleep(params.get("seconds", 30))


class AbortPlain(Task):
    def run(self, params):
        abort_current_job()
