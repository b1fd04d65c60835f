"""The bridge into mrqcore: one generated ``mrqcore.task.Task`` subclass per Celery task,
and the middleware that sends Celery's worker signals.

``register_job_class(app, name)`` registers, in ``mrqcore.task.registry``
under the Celery task's name, a class whose ``run(self, params)`` takes
``{"args": [...], "kwargs": {...}}`` and hands the job to ``mrqc.trace``. Its
mrqcore settings are read from the Celery task when the worker first needs
them (``timeout`` = hard time limit, 0 when none: Celery tasks have no limit
by default; ``result_ttl`` = ``result_expires``; ``queue`` = the routed queue).

``CompatMiddleware`` (registered once per process when an app is created)
sends ``worker_init``/``worker_ready`` at worker start, ``worker_shutdown`` at
stop, and runs a service greenlet that kills a running job on
``revoke(terminate=True)`` (a message on ``{p}celery:control``).
"""
from __future__ import annotations

import abc
import logging
from typing import TYPE_CHECKING, Any

import gevent
from mrqcore import middleware, task as core_task

from . import keys, signals

if TYPE_CHECKING:
    from mrqcore.worker import Worker

    from .app import Celery
    from .task import Task

logger = logging.getLogger("mrqc.worker")


class _JobClassMeta(abc.ABCMeta):
    """Class-level settings mrqcore reads (``getattr(cls, "timeout")``), computed from the Celery task."""

    @property
    def timeout(cls) -> float:  # type: ignore[override]
        hard, _ = cls.celery_task()._time_limits()
        return float(hard or 0)

    @property
    def result_ttl(cls) -> int | None:  # type: ignore[override]
        seconds = cls.celery_task()._get_app().conf.seconds("result_expires")
        return None if seconds is None else int(seconds)

    @property
    def queue(cls) -> str:  # type: ignore[override]
        task = cls.celery_task()
        return task._get_app().queue_for(task.name, task=task)


class CeleryJobTask(core_task.Task, metaclass=_JobClassMeta):
    """Base of the generated classes; ``run`` executes the Celery task for one job."""

    celery_app: "Celery"
    celery_name: str
    # retries are decided by Celery's rules in mrqc.trace, never by mrqcore's max_retries
    max_retries = None
    retry_delay = None

    @classmethod
    def celery_task(cls) -> "Task":
        return cls.celery_app.tasks[cls.celery_name]

    def run(self, params: dict[str, Any]) -> Any:
        from .trace import run_job
        return run_job(type(self).celery_task(), params)


def register_job_class(app: "Celery", name: str) -> type[CeleryJobTask]:
    cls = _JobClassMeta(f"CeleryJob[{name}]", (CeleryJobTask,), {"celery_app": app, "celery_name": name,
                                                                 "__module__": __name__})
    core_task.registry.register(name, cls)
    return cls


class CompatMiddleware(middleware.Middleware):
    """Celery's worker signals, and terminate-on-revoke."""

    def worker_start(self, worker: "Worker") -> None:
        signals.worker_init.send(sender=worker)
        signals.worker_process_init.send(sender=worker)
        worker.add_service(lambda: _control_listener(worker))
        signals.worker_ready.send(sender=worker)

    def worker_stop(self, worker: "Worker") -> None:
        signals.worker_shutdown.send(sender=worker)
        signals.worker_process_shutdown.send(sender=worker, pid=None, exitcode=0)


_middleware: CompatMiddleware | None = None


def ensure_middleware() -> None:
    global _middleware
    if _middleware is None:
        _middleware = CompatMiddleware()
        middleware.register(_middleware)


def _control_listener(worker: "Worker") -> None:
    """Kill the greenlet of a job named in a ``terminate <id>`` message, if this worker runs it."""
    from .exceptions import RevokedInterrupt
    runtime = worker.runtime
    while True:
        subscription = None
        try:
            subscription = runtime.store.subscribe(keys.CONTROL_CHANNEL)
            while True:
                message = subscription.get(1.0)
                if message is None:
                    continue
                verb, _, job_id = message.partition(" ")
                running = worker.running.get(job_id)
                if verb == "terminate" and running is not None:
                    logger.warning("terminating job %s (revoke terminate=True)", job_id)
                    running[1].kill(RevokedInterrupt(f"terminated by revoke: {job_id}"), block=False)
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # Redis went away: listen again
            logger.warning("control listener: %s; reconnecting", exc)
            gevent.sleep(1.0)
        finally:
            if subscription is not None:
                subscription.close()
