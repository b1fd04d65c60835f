"""subpool_map: input order, the parent job's context in every call, and error behaviour."""
from __future__ import annotations

import contextvars

import gevent
import pytest

from mrqcore.context import get_current_job, reset_current_job, set_current_job, subpool_map
from mrqcore.job import Job, queue_job
from mrqcore.subpool import subpool_map as direct


def test_results_in_input_order_outside_a_job():
    def slow_first(n):
        gevent.sleep(0.001 * (10 - n))  # earlier inputs finish last
        return n * n

    assert subpool_map(3, slow_first, range(10)) == [n * n for n in range(10)]
    assert direct(1, str, [1, 2]) == ["1", "2"]
    assert subpool_map(4, str, []) == []
    assert subpool_map(2, lambda x: x, iter("abc")) == ["a", "b", "c"]  # any iterable


def test_plain_blocking_functions_work_unpatched():
    # This process is not monkey-patched: calls that never yield run one after the other.
    assert subpool_map(5, lambda x: sum(range(x)), [10, 100]) == [45, 4950]


def test_pool_size_bounds_concurrency():
    running, peak = [0], [0]

    def work(n):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        gevent.sleep(0.001)
        running[0] -= 1
        return n

    assert subpool_map(3, work, range(20)) == list(range(20))
    assert peak[0] == 3


def test_bad_pool_size_is_named():
    with pytest.raises(ValueError, match="pool_size must be an int >= 1, got 0"):
        subpool_map(0, str, [1])


def test_each_call_sees_the_parent_job_and_its_own_context():
    fake = object()
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="parent")
    token = set_current_job(fake)  # type: ignore[arg-type]
    try:
        def work(n):
            seen = get_current_job()
            var.set(f"call-{n}")  # must not leak into other calls or the parent
            gevent.sleep(0.001)
            return seen is fake, var.get()

        results = subpool_map(2, work, range(4))
    finally:
        reset_current_job(token)
    assert results == [(True, f"call-{n}") for n in range(4)]
    assert var.get() == "parent"
    assert get_current_job() is None


def test_error_reaches_caller_and_stops_the_others():
    started, killed, finished = [], [], []

    def work(n):
        started.append(n)
        if n == 1:
            gevent.sleep(0.001)
            raise KeyError(f"bad input {n}")
        try:
            gevent.sleep(30)
        except gevent.GreenletExit:
            killed.append(n)
            raise
        finished.append(n)
        return n

    with pytest.raises(KeyError, match="bad input 1") as info:
        subpool_map(3, work, range(10))
    assert sorted(started) == [0, 1, 2]  # nothing new starts once a call failed
    assert sorted(killed) == [0, 2] and finished == []
    assert info.traceback[-1].name == "work"  # the original traceback is kept


def test_interrupts_propagate_too():
    from mrqcore.exceptions import AbortInterrupt

    def work(n):
        raise AbortInterrupt("stop")

    with pytest.raises(AbortInterrupt):
        subpool_map(2, work, [1, 2, 3])


def test_killing_the_caller_kills_the_calls():
    killed = []

    def work(n):
        try:
            gevent.sleep(30)
        except gevent.GreenletExit:
            killed.append(n)
            raise

    caller = gevent.spawn(subpool_map, 2, work, [1, 2, 3])
    gevent.sleep(0.01)
    caller.kill(block=True)
    assert sorted(killed) == [1, 2]


# --- inside a real worker ----------------------------------------------------------------


def test_inside_a_worker_job(runtime, run_burst):
    ok = queue_job("tests.tasks.depth_a.SubpoolJobs", {"items": [0, 1, 2, 3, 4], "pool": 3})
    bad = queue_job("tests.tasks.depth_a.SubpoolFails", {})
    run_burst("default", "--greenlets", "2")
    result = Job(ok).wait(timeout=5)
    assert [r["item"] for r in result["results"]] == [0, 1, 2, 3, 4]
    assert {r["job"] for r in result["results"]} == {ok} and result["job"] == ok
    failed = Job(bad).fetch()
    assert failed.status == "failed" and failed.exceptiontype == "KeyError"
    assert "item 2 is bad" in failed.traceback
