"""The worker's log: levels, text or JSON lines, and the job id and task name on every task line.

``setup_worker_logging(config)`` is called once by ``mrqc worker`` (and ``mrqc
scheduler``) before anything runs. It:

* sets the root logger's level to ``log_level`` and gives the root one handler
  on stderr at that level (``log_hijack_root_logger`` False: the handler is
  added beside the ones already there, which are left alone). Every logger,
  task loggers included, is filtered by it: ``--log-level ERROR`` prints no
  INFO line from anywhere;
* formats lines as ``text`` (``log_worker_format`` for the worker's own lines,
  ``log_task_format`` for lines logged inside a job) or ``json`` (one object
  a line: ``time``, ``level``, ``logger``, ``message``, ``process``, and
  ``job_id``/``task_name`` inside a job, ``exc_info`` with the traceback);
* lets layers above take part (``add_logging_hook``): a hook may take over
  the set-up entirely (Celery's ``setup_logging`` signal with a receiver) and
  is told when it is done (``after_setup_logger``/``after_setup_task_logger``).

Task log lines: ``mrqcore.context.log`` (``mrqc.job``) and its children
(Celery's ``get_task_logger``). Their records are always *stored* with the
job (``Job.log_lines``, up to ``log_lines_max``), at every level, so that
logger stays at DEBUG; what is *printed* is decided by the worker's handler
level, above.

Not here: what the worker logs about each job's outcome (``mrqcore.outcomes``).
"""
from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any, Callable, Protocol

from .exceptions import ConfigError

if TYPE_CHECKING:
    from .config import Config

__all__ = ("WORKER_FORMAT", "TASK_FORMAT", "LOG_FORMATS", "JobContextFilter", "TextFormatter", "JsonFormatter",
           "LoggingHook", "add_logging_hook", "remove_logging_hook", "setup_worker_logging", "task_logger")

#: the worker's own text lines
WORKER_FORMAT = "%(asctime)s %(process)d %(name)s [%(levelname)s] %(message)s"
#: text lines logged inside a running job (task loggers, and any logger called from task code)
TASK_FORMAT = "%(asctime)s %(process)d %(name)s [%(levelname)s] %(task_name)s[%(job_id)s] %(message)s"
LOG_FORMATS = ("text", "json")
#: attributes every record gets from ``JobContextFilter`` (``task_id`` is Celery's name for the job id)
CONTEXT_FIELDS = ("job_id", "task_id", "task_name")

# Attributes of a plain LogRecord: anything else on a record was passed as ``extra=`` and goes to JSON.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def task_logger() -> logging.Logger:
    """The parent of every task logger (``mrqc.job``, ``mrqcore.context.log``)."""
    from .context import log
    return log


class JobContextFilter(logging.Filter):
    """Puts ``job_id``/``task_id``/``task_name`` on each record: the current job's, else ``-``.

    A record that already has them (passed as ``extra=``, as the worker's
    outcome lines are) keeps its own. ``record.in_job`` is True for records
    logged inside a running job (they get the task format).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        in_job = False
        if getattr(record, "job_id", None) is None:
            from .context import get_current_job
            job = get_current_job()
            in_job = job is not None
            record.job_id = job.id if job is not None else None
            if getattr(record, "task_name", None) is None:
                record.task_name = job.task_path if job is not None else None
        record.in_job = in_job
        if record.job_id is None:
            record.job_id = "-"
        if getattr(record, "task_name", None) is None:
            record.task_name = "-"
        record.task_id = record.job_id
        return True


class TextFormatter(logging.Formatter):
    """``worker_format`` for the worker's lines, ``task_format`` for lines with a job."""

    def __init__(self, worker_format: str | None = None, task_format: str | None = None,
                 datefmt: str | None = None) -> None:
        super().__init__(worker_format or WORKER_FORMAT, datefmt)
        self.task = logging.Formatter(task_format or TASK_FORMAT, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "in_job", False):
            return self.task.format(record)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log shippers; ``extra=`` fields are included."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                    + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in data and key != "in_job":
                data[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            data["exc_info"] = "".join(traceback.format_exception(*record.exc_info))
        if record.stack_info:
            data["stack_info"] = record.stack_info
        return json.dumps(data, default=repr)


class LoggingHook(Protocol):
    """What a layer above may plug into the worker's logging set-up (``add_logging_hook``)."""

    def setup(self, level: int, log_format: str) -> bool:
        """Called first; return True to say "logging is configured already": mrqc adds no handler."""

    def after_setup(self, root: logging.Logger, task: logging.Logger, level: int, log_format: str) -> None:
        """Called once the root and task loggers are set up (also after a hook took over)."""


_hooks: list[LoggingHook] = []


def add_logging_hook(hook: LoggingHook) -> None:
    """Plug ``hook`` into ``setup_worker_logging`` (once per object; the Celery layer sends its signals here)."""
    if hook not in _hooks:
        _hooks.append(hook)


def remove_logging_hook(hook: LoggingHook) -> None:
    if hook in _hooks:
        _hooks.remove(hook)


def _level(value: str) -> int:
    level = logging.getLevelName(str(value).upper())
    if not isinstance(level, int):
        raise ConfigError("log_level", f"{value!r} is not a level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    return level


def make_formatter(config: "Config") -> logging.Formatter:
    """The formatter ``config`` asks for (``log_format``, ``log_worker_format``, ``log_task_format``)."""
    if config.log_format not in LOG_FORMATS:
        raise ConfigError("log_format", f"{config.log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    if config.log_format == "json":
        return JsonFormatter()
    return TextFormatter(config.log_worker_format, config.log_task_format)


def setup_worker_logging(config: "Config", stream: Any = None) -> logging.Handler | None:
    """Configure the process's logging for a worker from ``config`` (see the module docstring).

    Returns the handler it installed, or None when a hook took over. A bad
    ``log_level`` or ``log_format`` is a ConfigError naming the setting.
    """
    level = _level(config.log_level)
    formatter = make_formatter(config)
    root = logging.getLogger()
    task = task_logger()
    task.setLevel(logging.DEBUG)  # stored at every level; printing is filtered by the handler (docstring)
    if any(_call(hook.setup, level, config.log_format) for hook in list(_hooks)):
        handler = None
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setLevel(level)
        handler.setFormatter(formatter)
        handler.addFilter(JobContextFilter())
        if config.log_hijack_root_logger:
            for old in list(root.handlers):
                root.removeHandler(old)
        root.addHandler(handler)
        root.setLevel(level)
    for hook in list(_hooks):
        _call(hook.after_setup, root, task, level, config.log_format)
    return handler


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # a broken hook must not stop the worker from logging
        logging.getLogger("mrqc.worker").exception("logging hook %r failed", fn)
        return None
