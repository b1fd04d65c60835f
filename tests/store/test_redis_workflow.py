"""The Redis store's workflow family (``RedisWorkflowMixin``): held jobs, barriers, values, messages.

Races are real: threads released together by a ``threading.Barrier`` call the
store at the same instant, against the real Redis of the ``runtime`` fixture.
"""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable

import pytest

from mrqcore.store.base import HOLD_DUE, JobSpec
from tests.store.conftest import run_together


def _held(store: Any, queue: str = "wf") -> str:
    job_id = uuid.uuid4().hex
    assert store.enqueue([JobSpec(job_id, queue, {"path": "tests.tasks.general.Add", "params": "{}"},
                                  due=HOLD_DUE)], time.time()) == []
    return job_id


def test_held_job_waits_until_released(runtime: Any) -> None:
    store = runtime.store
    job_id = _held(store)
    # never due on its own: the promoter leaves it, nothing is queued
    store.promote_due(time.time() + 10 * 365 * 86400)
    assert store.queue_size("wf") == 0
    assert store.get(job_id, ("status",)) == {"status": "queued"}
    assert store.release_held(job_id, time.time(), {"params": '{"x": 1}'}) is True
    assert store.queue_size("wf") == 1
    assert store.get(job_id, ("params", "status")) == {"params": '{"x": 1}', "status": "queued"}


@pytest.mark.parametrize("round_", range(5))
def test_release_held_once_when_callers_race(runtime: Any, round_: int) -> None:
    store = runtime.store
    job_id = _held(store)
    results = run_together(n=4, target=lambda: store.release_held(job_id, time.time(), {"meta": "{}"}))
    assert sorted(results) == [False, False, False, True]
    assert store.queue_size("wf") == 1


def test_release_held_refuses_what_is_not_held(runtime: Any) -> None:
    store = runtime.store
    assert store.release_held("no-such-job", time.time(), {}) is False
    cancelled = _held(store)
    assert store.cancel(cancelled, time.time(), 0) == "queued"
    assert store.release_held(cancelled, time.time(), {}) is False
    # a job waiting for a time (a countdown) is not held
    timed = uuid.uuid4().hex
    store.enqueue([JobSpec(timed, "wf", {"path": "x", "params": "{}"}, due=time.time() + 3600)], time.time())
    assert store.release_held(timed, time.time(), {}) is False
    assert store.queue_size("wf") == 0


def test_fail_held_once_and_wakes_waiters(runtime: Any, redis_client: Any, prefix: str) -> None:
    store = runtime.store
    job_id = _held(store)
    with store.done_waiter(job_id) as waiter:
        results = run_together(n=3, target=lambda: store.fail_held(job_id, time.time(), "failed",
                                                                   {"exceptiontype": "E"}, 60))
        assert sorted(results) == [False, False, True]
        assert waiter.wait(10)
    record = store.get(job_id)
    assert record["status"] == "failed" and record["exceptiontype"] == "E" and record.get("datedone")
    assert 0 < redis_client.ttl(prefix + "job:" + job_id) <= 60
    assert store.release_held(job_id, time.time(), {}) is False  # failed: never queued afterwards
    assert store.queue_size("wf") == 0


def test_fail_held_refuses_a_released_job(runtime: Any) -> None:
    store = runtime.store
    job_id = _held(store)
    assert store.release_held(job_id, time.time(), {}) is True
    assert store.fail_held(job_id, time.time(), "failed", {}, 0) is False
    assert store.get(job_id, ("status",)) == {"status": "queued"}


def test_barrier_counts_a_part_once_and_returns_all_parts_at_size(runtime: Any, redis_client: Any,
                                                                  prefix: str) -> None:
    store = runtime.store
    name = f"celery:chord:{uuid.uuid4().hex}"
    assert store.barrier_add(name, 0, "a", 3, 0) is None
    assert store.barrier_add(name, 0, "a-again", 3, 0) is None  # a re-run part counts once
    assert store.barrier_add(name, 2, "c", 3, 0) is None
    assert store.barrier_add(name, 1, "b", 3, 120) == {0: "a", 1: "b", 2: "c"}
    # a part recorded after completion sees it complete too; the first value of a part stays
    assert store.barrier_add(name, 0, "late", 3, 120) == {0: "a", 1: "b", 2: "c"}
    # the key name is the caller's name under the prefix (Celery chord keys keep their names)
    assert 0 < redis_client.ttl(prefix + name) <= 120


def test_barrier_completes_once_per_part_when_parts_race(runtime: Any) -> None:
    store = runtime.store
    name = f"race:{uuid.uuid4().hex}"
    size = 8
    counter = iter(range(size))
    lock = threading.Lock()

    def add() -> Any:
        with lock:
            index = next(counter)
        return store.barrier_add(name, index, str(index), size, 0)

    results = run_together(n=size, target=add)
    complete = [r for r in results if r is not None]
    assert len(complete) == 1  # only the part that completed it sees it complete
    assert complete[0] == {i: str(i) for i in range(size)}


def test_barrier_rejects_a_bad_index(runtime: Any) -> None:
    with pytest.raises(ValueError, match="part index 3"):
        runtime.store.barrier_add("b", 3, "x", 3, 0)
    with pytest.raises(ValueError, match="barrier name"):
        runtime.store.barrier_add("", 0, "x", 1, 0)


def test_values_with_and_without_ttl(runtime: Any, redis_client: Any, prefix: str) -> None:
    store = runtime.store
    assert store.get_value("celery:group:g1") is None
    store.set_value("celery:group:g1", '["a", "b"]', ttl=100)
    assert store.get_value("celery:group:g1") == '["a", "b"]'
    assert 0 < redis_client.ttl(prefix + "celery:group:g1") <= 100
    store.set_value("kept", "1")
    store.set_value("kept-too", "1", ttl=0)
    assert redis_client.ttl(prefix + "kept") == -1 and redis_client.ttl(prefix + "kept-too") == -1
    store.delete_value("celery:group:g1")
    assert store.get_value("celery:group:g1") is None
    store.delete_value("celery:group:g1")  # absent: no error
    with pytest.raises(ValueError, match="set_value: ttl"):
        store.set_value("x", "1", ttl=-5)
    with pytest.raises(ValueError, match="value name"):
        store.get_value("")


def test_publish_subscribe_delivers_in_order(runtime: Any) -> None:
    store = runtime.store
    with store.subscribe("celery:control") as subscription:
        assert store.publish("other-channel", "not for us") == 0
        for i in range(20):
            assert store.publish("celery:control", f"terminate {i}") == 1
        got = [subscription.get(10) for _ in range(20)]
    assert got == [f"terminate {i}" for i in range(20)]


def test_subscription_returns_none_when_nothing_comes(runtime: Any) -> None:
    with runtime.store.subscribe("quiet") as subscription:
        assert subscription.get(0.05) is None


def test_channels_are_per_prefix(runtime: Any, redis_url: str) -> None:
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime
    other = Runtime(Config({"redis": redis_url, "redis_prefix": f"test-{uuid.uuid4().hex[:10]}:"}))
    try:
        with runtime.store.subscribe("chan") as subscription:
            assert other.store.publish("chan", "elsewhere") == 0
            assert runtime.store.publish("chan", "here") == 1
            assert subscription.get(10) == "here"
    finally:
        other.close()


def test_clear_deletes_only_this_prefix(runtime: Any, redis_url: str) -> None:
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime
    other = Runtime(Config({"redis": redis_url, "redis_prefix": f"test-{uuid.uuid4().hex[:10]}:"}))
    try:
        job_id = _held(runtime.store)
        runtime.store.set_value("v", "1")
        other.store.set_value("v", "2")
        runtime.store.clear()
        assert runtime.store.get(job_id) is None and runtime.store.get_value("v") is None
        assert runtime.store.release_held(job_id, time.time(), {}) is False
        assert other.store.get_value("v") == "2"
    finally:
        other.store.clear()
        other.close()
