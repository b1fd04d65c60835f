"""compat's own record fields (exc_info, children, a retry's params) travel in the job's one atomic finish.

The job runs here, through ``mrqcore.execution.perform`` as a worker runs it,
on a runtime whose store is the real Redis store wrapped to record every
``update`` call. The finish is then written with the real ``store.finish``.
"""
from __future__ import annotations

import time
from typing import Any

import pytest

from mrqcore.execution import RunningJob, perform
from mrqcore.store.base import Finish

WORKER = "test-finish-fields"


class CountingStore:
    """The real store, with every ``update`` and ``get`` call recorded (and still made)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.updates: list[tuple[str, dict[str, str]]] = []
        self.gets = 0

    def get(self, job_id: str, fields: Any = None) -> Any:
        self.gets += 1
        return self._store.get(job_id, fields)

    def update(self, job_id: str, fields: dict[str, str]) -> None:
        self.updates.append((job_id, dict(fields)))
        self._store.update(job_id, fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class CountingRuntime:
    """The app's runtime, with its store wrapped in ``CountingStore``."""

    def __init__(self, runtime: Any) -> None:
        self._runtime = runtime
        self.store = CountingStore(runtime.store)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)


def _run_here(app: Any, result: Any) -> tuple[Finish, CountingStore]:
    """Dequeue the call's job and run it in this process; the finish is not written yet."""
    runtime = app.runtime
    taken = runtime.store.dequeue(WORKER, [result.queue], 1, time.time())
    assert [job_id for job_id, _ in taken] == [result.id]
    counting = CountingRuntime(runtime)
    fin = perform(RunningJob(result.id, taken[0][1], counting, None))  # type: ignore[arg-type]
    return fin, counting.store


def test_failure_writes_status_and_exc_info_in_one_finish(app):
    from tests.compat.proj_tasks import CustomError, fail
    result = fail.delay("bad input")
    fin, store = _run_here(app, result)
    assert store.updates == []  # nothing written to the record while the task ran
    assert fin.status == "failed" and fin.fields["status"] == "failed" and "exc_info" in fin.fields
    before = app.runtime.store.get(result.id, ("status", "exc_info"))
    assert before == {"status": "started"}  # no exc_info ahead of the status
    app.runtime.store.finish(WORKER, [fin])
    after = app.runtime.store.get(result.id, ("status", "exc_info"))
    assert after["status"] == "failed" and "CustomError" in after["exc_info"]
    with pytest.raises(CustomError) as caught:
        result.get(timeout=5)
    assert caught.value.args == ("bad input", 42)


def test_children_are_written_with_the_success(app):
    from tests.compat.proj_tasks import spawn_children
    result = spawn_children.delay(2)
    fin, store = _run_here(app, result)
    assert store.updates == []
    assert fin.status == "success" and "children" in fin.fields
    app.runtime.store.finish(WORKER, [fin])
    child_ids = result.get(timeout=5)
    assert [child.id for child in result.children] == child_ids


def test_retry_params_are_written_with_the_retry(app):
    from tests.compat.proj_tasks import retry_changing
    result = retry_changing.delay(0)
    fin, store = _run_here(app, result)
    assert store.updates == []
    assert fin.status == "retry" and fin.fields["queue"] == "compat-own"
    app.runtime.store.finish(WORKER, [fin])
    assert result.args == [1] and result.state == "RETRY"


def test_core_fields_win_over_finish_fields(app):
    """A layer's extra fields can add to the record, never overwrite how the job ended."""
    from tests.compat.proj_tasks import add
    result = add.delay(2, 3)
    runtime = app.runtime
    [(job_id, record)] = runtime.store.dequeue(WORKER, [result.queue], 1, time.time())
    job = RunningJob(job_id, record, runtime, None)
    job.finish_fields.update(status="failed", result="99", note="kept")
    fin = perform(job)
    assert fin.fields["status"] == "success" and fin.fields["result"] == "5" and fin.fields["note"] == "kept"
