"""Tasks the dashboard tests run on a real worker."""
from __future__ import annotations

import os

from mrqcore.context import log
from mrqcore.task import Task


class FailUntilFile(Task):
    """Fails with ``message`` until the file ``flag`` exists, then succeeds (a fix was deployed)."""

    def run(self, params):
        log.info("looking for %s", params["flag"])
        if not os.path.exists(params["flag"]):
            raise ValueError(params.get("message", "the flag file is missing"))
        return {"fixed": True}


class Html(Task):
    """Returns, or fails with, text full of HTML and script (for the escaping tests)."""

    def run(self, params):
        log.info("log line %s", params["html"])
        if params.get("fail"):
            raise ValueError(params["html"])
        return params["html"]


class HoldUntilFile(Task):
    """Reports progress 0.25, then waits (at most 60 s) until the file ``flag`` exists."""

    def run(self, params):
        import gevent
        from mrqcore.context import set_current_job_progress
        set_current_job_progress(0.25)
        for _ in range(600):
            if os.path.exists(params["flag"]):
                return "released"
            gevent.sleep(0.1)
        return "gave up"
