"""One table translates MRQ statuses into Celery states and exceptions (``mrqc.states.STATUS_READINGS``)."""
from __future__ import annotations

from typing import Any

import pytest

from mrqcore.status import JobStatus
from mrqc import AsyncResult, states
from mrqc.exceptions import (MaxRetriesExceededError, TaskRevokedError, TimeLimitExceeded, WorkerLostError)


def test_every_status_has_exactly_one_row():
    assert set(states.STATUS_READINGS) == set(JobStatus)
    assert states.STATUS_TO_STATE == {s.value: r.state for s, r in states.STATUS_READINGS.items()}
    assert states.state_for_status(None) == states.PENDING
    assert states.state_for_status("not-a-status") == states.PENDING
    for status in JobStatus:
        state = states.state_for_status(status.value)
        assert (state in states.READY_STATES) == status.is_final, status


@pytest.mark.parametrize("status, state, exc_type", [
    ("timeout", states.FAILURE, TimeLimitExceeded),
    ("maxretries", states.FAILURE, MaxRetriesExceededError),
    ("interrupt", states.FAILURE, WorkerLostError),
    ("cancel", states.REVOKED, TaskRevokedError),
    ("abort", states.REVOKED, TaskRevokedError),
])
def test_results_read_records_through_the_table(app: Any, status: str, state: str, exc_type: type) -> None:
    """A finished record of each status reads as the row's state, and get() raises the row's exception."""
    runtime = app.runtime
    from tests.compat.proj_tasks import add
    result = add.delay(1, 1)  # a real record; no worker runs it: its status is set here
    runtime.store.update(result.id, {"status": status, "datedone": "1.0"})
    fresh = AsyncResult(result.id, app=app)
    assert fresh.state == state and fresh.ready()
    assert states.reading_for_status(status).exception is exc_type
    with pytest.raises(exc_type):
        fresh.get(timeout=5)
    assert isinstance(fresh.result, exc_type)


def test_a_stored_exception_wins_where_the_table_says_so(app: Any) -> None:
    """timeout/interrupt: the exception the worker stored (with its detail) is the one re-raised."""
    from mrqc.utils import exception_record
    from mrqcore import serialization
    from tests.compat.proj_tasks import add
    result = add.delay(1, 1)
    stored = serialization.dumps(exception_record(TimeLimitExceeded(7.5))).decode()
    app.runtime.store.update(result.id, {"status": "timeout", "exc_info": stored})
    with pytest.raises(TimeLimitExceeded) as caught:
        AsyncResult(result.id, app=app).get(timeout=5)
    assert caught.value.args == (7.5,)
