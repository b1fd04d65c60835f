"""mrqcore: MRQ's job model on Redis and gevent.

MRQ users map ``mrq.x`` to ``mrqcore.x``: ``mrqcore.task.Task``,
``mrqcore.job.queue_job``, ``mrqcore.context.get_current_job`` ... The most
used names are also importable from here.
"""
from .exceptions import MrqcError
from .job import Job, get_job_result, queue_job, queue_jobs, queue_raw_jobs
from .runtime import Runtime, configure, get_runtime, set_runtime
from .task import Task

__version__ = "0.1.0"

__all__ = ["Job", "MrqcError", "Runtime", "Task", "configure", "get_job_result", "get_runtime",
           "queue_job", "queue_jobs", "queue_raw_jobs", "set_runtime", "__version__"]
