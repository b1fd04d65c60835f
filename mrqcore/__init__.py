"""mrqcore: MRQ's job model on Redis and gevent.

MRQ users map ``mrq.x`` to ``mrqcore.x``: ``mrqcore.task.Task``,
``mrqcore.job.queue_job``, ``mrqcore.context.get_current_job`` ... The most
used names are also importable from here. They load lazily, so that
``mrqc worker`` can let gevent patch the standard library before redis-py
(and ssl) are imported.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Job": "mrqcore.job", "get_job_result": "mrqcore.job", "queue_job": "mrqcore.job",
    "queue_jobs": "mrqcore.job", "queue_raw_jobs": "mrqcore.job",
    "MrqcError": "mrqcore.exceptions", "Task": "mrqcore.task",
    "Runtime": "mrqcore.runtime", "configure": "mrqcore.runtime", "get_runtime": "mrqcore.runtime",
    "set_runtime": "mrqcore.runtime",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mrqcore' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
