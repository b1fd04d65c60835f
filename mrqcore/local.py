"""Running a task in this process, outside any worker (``mrqc run PATH``).

The task gets a job context (``get_current_job()`` works, logs are echoed to
stderr) but nothing is written to the store: no record, no queue.
"""
from __future__ import annotations

import sys
from typing import Any

from .exceptions import JobFailedError
from .execution import RunningJob, perform
from .job import new_job_id
from .status import JobStatus
from .runtime import Runtime


class LocalJob(RunningJob):
    """A RunningJob with no record in the store."""

    def set_progress(self, ratio: float) -> None:
        self.data["progress"] = float(ratio)

    def add_log_line(self, line: str) -> None:
        print(line, file=sys.stderr)


def run_locally(path: str, params: dict[str, Any], runtime: Runtime) -> Any:
    """Run task ``path`` now and return its result; JobFailedError if it did not succeed."""
    from . import serialization
    record = {"path": path, "params": serialization.dumps(params, "params").decode(),
              "queue": "", "status": JobStatus.STARTED.value, "retry_count": "0"}
    job = LocalJob(new_job_id(), record, runtime, None)
    fin = perform(job)
    if fin.status != JobStatus.SUCCESS:
        print(fin.fields.get("traceback", ""), file=sys.stderr)
        raise JobFailedError(job.id, fin.status, fin.fields.get("exceptiontype"), fin.fields.get("traceback"))
    return serialization.loads(fin.fields["result"])
