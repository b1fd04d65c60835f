"""``JobStore.scheduled_count``: jobs waiting for a time, held jobs not counted (the metrics read it).

Written against the store contract; it runs on the ``runtime`` fixture's store (the real Redis).
When more stores arrive, parametrize the ``store`` fixture over them.
"""
from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from mrqcore.store.base import HOLD_DUE, JobSpec


@pytest.fixture
def store(runtime: Any) -> Any:
    return runtime.store


def _spec(due: float) -> JobSpec:
    return JobSpec(uuid.uuid4().hex, "counted", {"path": "tests.ops.tasks.Hello", "params": "{}"}, due=due)


def test_scheduled_count_counts_waiting_jobs_only(store):
    now = time.time()
    assert store.scheduled_count() == 0
    store.enqueue([_spec(now + 3600), _spec(now + 7200), _spec(0.0), _spec(HOLD_DUE)], now)
    assert store.scheduled_count() == 2  # two parked for a time; the queued and the held one are not
    moved, _ = store.promote_due(now + 3601)
    assert moved == 1 and store.scheduled_count() == 1
