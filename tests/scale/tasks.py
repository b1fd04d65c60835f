"""Tasks of the scale-out tests: each run leaves one line in a file, so runs (and reruns) can be counted."""
from __future__ import annotations

import os

import gevent

from mrqcore.context import get_current_job
from mrqcore.task import Task


class RecordRun(Task):
    """Appends the job's id to ``params["runs_file"]`` (one O_APPEND write: lines never interleave)."""

    def run(self, params):
        gevent.sleep(float(params.get("sleep", 0.0)))
        line = (get_current_job().id + "\n").encode()
        fd = os.open(params["runs_file"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        return "ok"
