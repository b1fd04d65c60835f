"""Abortable tasks (Celery's ``celery.contrib.abortable``), on the job record.

Use it as in Celery::

    from mrqc.contrib.abortable import AbortableTask

    @app.task(bind=True, base=AbortableTask)
    def long_job(self):
        for chunk in work():
            if self.is_aborted():
                return "stopped"          # the task decides how to stop, as in Celery
            process(chunk)

    result = long_job.delay()            # an AbortableAsyncResult
    result.abort()

``abort()`` marks the job's record with the state ``ABORTED`` (the same custom-state field
``update_state`` writes); ``AbortableAsyncResult.state`` then reads ``ABORTED`` until the task
ends, and ``self.is_aborted()`` inside the task reads ``True``. As in Celery, aborting is a
request the task polls for: the task keeps running until it checks, and what it returns (or
raises) is its final state (``SUCCESS`` with its return value, typically). A task that wants
MRQ's own ``abort`` status (kept for ``abort_ttl``, never retried) calls
``mrqcore.context.abort_current_job()`` once it sees ``is_aborted()``.

Aborting a task that already ended does nothing (Celery would overwrite the stored
result; mrqc keeps the final result).
"""
from __future__ import annotations

from typing import Any

from mrqcore.status import JobStatus

from ..result import AsyncResult, store_custom_state
from ..task import Task

ABORTED = "ABORTED"

__all__ = ["ABORTED", "AbortableAsyncResult", "AbortableTask"]


class AbortableAsyncResult(AsyncResult):
    """An ``AsyncResult`` that can ask its task to stop (``abort()``)."""

    def is_aborted(self) -> bool:
        """True once ``abort()`` was called and the task has not ended yet."""
        return self.state == ABORTED

    @property
    def state(self) -> str:
        record = self._record()
        if record is not None and record.get("celery_state") == ABORTED \
                and record.get("status") in (JobStatus.QUEUED, JobStatus.STARTED):
            return ABORTED
        return super().state

    status = state

    def abort(self) -> None:
        """Ask the task to stop: its ``is_aborted()`` reads ``True`` from now on (if it has not ended)."""
        record = self._record()
        if record is None or record.get("status") in JobStatus.FINAL:
            return
        store_custom_state(self.app, self.id, ABORTED, None)


class AbortableTask(Task):
    """A task whose calls can be aborted: ``AsyncResult(id)`` gives an ``AbortableAsyncResult``."""

    abstract = True

    def AsyncResult(self, task_id: str, **kwargs: Any) -> AbortableAsyncResult:  # noqa: N802 - Celery's name
        return AbortableAsyncResult(task_id, app=self._get_app(), task_name=self.name, **kwargs)

    def apply_async(self, *args: Any, **options: Any) -> Any:
        if not self._get_app().conf.task_always_eager:
            options.setdefault("result_cls", AbortableAsyncResult)
        return super().apply_async(*args, **options)

    def is_aborted(self, **kwargs: Any) -> bool:
        """True if ``abort()`` was called on this call (``task_id=`` another one)."""
        task_id = kwargs.get("task_id", self.request.id)
        if task_id is None:
            return False
        return self.AsyncResult(task_id).is_aborted()
