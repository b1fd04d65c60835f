"""Acceptance 1, mrqc -> Celery: an mrqc app with ``celery_wire`` publishes what real Celery workers run."""
from __future__ import annotations

import pytest

from tests.adapters.wire_tasks import WireError


def test_mrqc_delay_runs_on_a_celery_worker(wire, procs, mrqc_client):
    worker = procs("celery", wire)
    tasks = mrqc_client.wire_tasks
    result = tasks["add"].delay(40, 2)
    try:
        assert result.get(timeout=60) == 42
    except Exception:
        print(worker.output())
        raise
    assert result.state == "SUCCESS" and result.successful()
    assert tasks["where"].delay().get(timeout=30) == "celery"
    failed = tasks["fail"].delay("celery says no")
    with pytest.raises(WireError, match="celery says no"):
        failed.get(timeout=30)
    assert failed.state == "FAILURE" and isinstance(failed.result, WireError)
    assert "WireError" in failed.traceback


def test_mrqc_send_task_and_a_countdown_run_on_a_celery_worker(wire, procs, mrqc_client):
    procs("celery", wire)
    assert mrqc_client.send_task("wire.add", args=(1, 2)).get(timeout=60) == 3
    later = mrqc_client.wire_tasks["add"].apply_async((2, 3), countdown=1)
    assert later.get(timeout=60) == 5


def test_an_mrqc_chain_runs_on_a_celery_worker(wire, procs, mrqc_client):
    from mrqc import chain
    procs("celery", wire)
    add = mrqc_client.wire_tasks["add"]
    result = chain(add.s(1, 2), add.s(10), add.s(100)).apply_async()
    assert result.get(timeout=60) == 113
    assert result.parent.get(timeout=10) == 13


def test_a_chain_runs_across_both_sides(wire, procs, mrqc_client, celery_client):
    from celery import chain as celery_chain
    procs("celery", wire)
    procs("mrqc", wire)
    add = celery_client.wire_tasks["add"]
    result = celery_chain(add.s(1, 1), add.s(2), add.s(3), add.s(4)).apply_async()
    assert result.get(timeout=60) == 11
