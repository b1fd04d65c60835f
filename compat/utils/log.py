"""``get_task_logger`` and ``get_logger``, as in ``celery.utils.log``.

A task logger is a child of mrqcore's ``mrqc.job`` logger, so what a task logs
is stored with its job (``Job(id).log_lines``) and also reaches the
worker's log.
"""
from __future__ import annotations

import logging

from mrqcore.context import log as _job_log

#: the parent of every task logger (Celery's is ``celery.task``)
task_logger = _job_log


def get_task_logger(name: str) -> logging.Logger:
    """A logger for task code (usually ``get_task_logger(__name__)``); its lines go to the job's log."""
    if name in ("celery", "celery.task", "mrqc", "mrqc.job"):
        raise RuntimeError(f"logger name {name!r} is reserved")
    return logging.getLogger(f"{_job_log.name}.{name}")


def get_logger(name: str) -> logging.Logger:
    """A plain logger (Celery's ``get_logger``)."""
    return logging.getLogger(name)


__all__ = ["get_task_logger", "get_logger", "task_logger"]
