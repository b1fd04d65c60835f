"""The context API: what a running task can ask about and do to its own job.

The current job lives in a ``ContextVar``; each gevent greenlet has its own
context, so concurrent jobs in one worker never see each other's. Outside a
job (plain Python, tests) ``get_current_job()`` returns None and the other
calls raise or do nothing as documented.
"""
from __future__ import annotations

import contextvars
import logging
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .exceptions import AbortInterrupt, MrqcError, RetryInterrupt
from .runtime import get_runtime

if TYPE_CHECKING:
    from .config import Config
    from .worker import RunningJob, Worker

_current_job: contextvars.ContextVar["RunningJob | None"] = contextvars.ContextVar("mrqc_current_job", default=None)
_current_worker: "Worker | None" = None


def get_current_job() -> "RunningJob | None":
    """The job being executed in this greenlet, or None outside a job."""
    return _current_job.get()


def set_current_job(job: "RunningJob | None") -> contextvars.Token:
    """Install ``job`` as current in this context (the worker and subpool_map use it)."""
    return _current_job.set(job)


def reset_current_job(token: contextvars.Token) -> None:
    _current_job.reset(token)


def get_current_worker() -> "Worker | None":
    """The Worker running in this process, or None."""
    return _current_worker


def set_current_worker(worker: "Worker | None") -> None:
    global _current_worker
    _current_worker = worker


def get_current_config() -> "Config":
    """The configuration in force (the worker's, or the one loaded for this process)."""
    return get_runtime().config


def _require_job(what: str) -> "RunningJob":
    job = _current_job.get()
    if job is None:
        raise MrqcError(f"{what}() called outside of a job")
    return job


def retry_current_job(delay: float | None = None, max_retries: int | None = None,
                      queue: str | None = None) -> None:
    """Stop the current job and run it again after ``delay`` seconds (task retry_delay by default).

    Past ``max_retries`` (task setting by default) the job ends as
    ``maxretries`` instead. With ``queue``, it runs again on that queue.
    Raises ``RetryInterrupt`` (a BaseException): code after this call does not run.
    """
    _require_job("retry_current_job")
    raise RetryInterrupt(delay=delay, max_retries=max_retries, queue=queue)


def abort_current_job() -> None:
    """Stop the current job now with status ``abort`` (kept for abort_ttl, never retried)."""
    _require_job("abort_current_job")
    raise AbortInterrupt("abort_current_job() called")


def set_current_job_progress(ratio: float) -> None:
    """Record the current job's progress (0 to 1). Outside a job, does nothing."""
    job = _current_job.get()
    if job is not None:
        job.set_progress(ratio)


def run_task(path: str, params: dict[str, Any]) -> Any:
    """Run the task at ``path`` synchronously, in the current job's context, and return its result.

    No job is created: the sub-task's ``is_main_task`` is False, and its logs
    and progress go to the current job.
    """
    task_class = get_runtime().tasks.load(path)
    task = task_class()
    task.is_main_task = False
    return task.run(params)


def subpool_map(pool_size: int, func: Callable[[Any], Any], iterable: Iterable[Any]) -> list[Any]:
    """Run ``func`` over ``iterable`` in ``pool_size`` greenlets that share the current job context.

    Results come back in input order. See ``mrqcore.subpool`` for error behaviour.
    """
    from .subpool import subpool_map as _subpool_map
    return _subpool_map(pool_size, func, iterable)


# --- log ---------------------------------------------------------------------------


class _JobLogHandler(logging.Handler):
    """Appends records logged inside a job to that job's log lines."""

    def emit(self, record: logging.LogRecord) -> None:
        job = _current_job.get()
        if job is not None:
            try:
                job.add_log_line(self.format(record))
            except Exception:  # logging must never break the task
                self.handleError(record)


#: the logger tasks should use; lines logged inside a job are stored with it
log = logging.getLogger("mrqc.job")
_handler = _JobLogHandler()
_handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(message)s"))
log.addHandler(_handler)
log.setLevel(logging.DEBUG)


# --- connections -------------------------------------------------------------------


class Connections:
    """Lazily built connections, shared by every job in the process.

    ``connections.redis`` is the current runtime's Redis client (its store's
    ``client``): the one sanctioned way for task code to reach Redis directly
    (mrqc itself only goes through the store). With a store that is not Redis
    it raises AttributeError. Add your own::

        connections.register("search", lambda config: Elasticsearch(...))
        connections.search  # built on first use, then reused
    """

    def __init__(self) -> None:
        self._factories: dict[str, Callable[["Config"], Any]] = {
            "redis": lambda config: _redis_client(),
        }
        self._built: dict[str, Any] = {}

    def register(self, name: str, factory: Callable[["Config"], Any]) -> None:
        self._factories[name] = factory
        self._built.pop(name, None)

    def reset(self) -> None:
        """Forget built connections (after a fork, or a runtime change)."""
        self._built.clear()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "redis":  # always the current runtime's, never a stale copy
            return _redis_client()
        if name not in self._built:
            factory = self._factories.get(name)
            if factory is None:
                raise AttributeError(f"no connection factory named {name!r}; "
                                     f"known: {sorted(self._factories)}")
            self._built[name] = factory(get_runtime().config)
        return self._built[name]


def _redis_client() -> Any:
    store = get_runtime().store
    client = getattr(store, "client", None)
    if client is None:
        raise AttributeError(f"connections.redis: the job store ({type(store).__name__}) is not Redis")
    return client


connections = Connections()
