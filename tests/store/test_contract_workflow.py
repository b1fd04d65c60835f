"""Contract: ``WorkflowStore``, held jobs, barriers, values and messages."""
from __future__ import annotations

import threading
import time

from mrqcore.store.base import HOLD_DUE, JobStore
from tests.conftest import wait_for
from tests.store.conftest import finish, new_id, queued, spec, started, status_of
from tests.store.conftest import run_together


def held(store: JobStore, **fields: str) -> str:
    job = spec(due=HOLD_DUE, **fields)
    queued(store, job)
    return job.id


# --- held jobs -------------------------------------------------------------------------

def test_release_held_queues_the_job_once_with_its_fields(store: JobStore) -> None:
    job_id = held(store, params='{"args": []}')
    with store.notify_waiter() as waiter:
        assert store.release_held(job_id, time.time(), {"params": '{"args": [1]}'})
        assert waiter.wait(5.0)
    assert store.get(job_id, ("status", "params")) == {"status": "queued", "params": '{"args": [1]}'}
    assert job_id not in set(store.scheduled_ids())
    assert store.release_held(job_id, time.time(), {}) is False
    assert [j for j, _ in store.dequeue("w", ["q"], 5, time.time())] == [job_id]


def test_release_held_refuses_jobs_that_are_not_held(store: JobStore) -> None:
    (plain,) = queued(store, spec())
    waiting = spec(due=time.time() + 3600)
    queued(store, waiting)
    cancelled = held(store)
    store.cancel(cancelled, time.time(), 0)
    for job_id in (plain, waiting.id, cancelled, new_id()):
        assert store.release_held(job_id, time.time(), {"params": "x"}) is False
    assert store.queue_size("q") == 1
    assert store.get(waiting.id, ("params",)) == {}


def test_two_callers_release_a_held_job_once(store: JobStore) -> None:
    job_id = held(store)
    assert sorted(run_together(lambda: store.release_held(job_id, time.time(), {}), 4)) == [False] * 3 + [True]
    assert store.queue_size("q") == 1


def test_fail_held_ends_the_job_once_and_notifies(store: JobStore) -> None:
    job_id = held(store)
    with store.done_waiter(job_id) as waiter:
        assert store.fail_held(job_id, time.time(), "failed", {"traceback": "parent failed"}, 0)
        assert waiter.wait(5.0) and waiter.message == "failed"
    record = store.get(job_id) or {}
    assert record["status"] == "failed" and record["traceback"] == "parent failed" and "datedone" in record
    assert job_id not in set(store.scheduled_ids())
    assert store.fail_held(job_id, time.time(), "failed", {}, 0) is False
    assert store.release_held(job_id, time.time(), {}) is False


def test_fail_held_with_ttl_and_only_once_among_racers(store: JobStore) -> None:
    job_id = held(store)
    results = run_together(lambda: store.fail_held(job_id, time.time(), "failed", {}, 1), 4)
    assert sorted(results) == [False] * 3 + [True]
    wait_for(lambda: store.get(job_id) is None, timeout=10, message="the failed record to expire")


def test_release_and_fail_race_one_wins(store: JobStore) -> None:
    job_id = held(store)
    calls = iter([lambda: store.release_held(job_id, time.time(), {}),
                  lambda: store.fail_held(job_id, time.time(), "failed", {}, 0)])
    lock = threading.Lock()

    def one() -> bool:
        with lock:
            call = next(calls)
        return call()

    assert sorted(run_together(one, 2)) == [False, True]
    assert status_of(store, job_id) in ("queued", "failed")


# --- barriers --------------------------------------------------------------------------

def test_barrier_completes_when_every_part_is_in(store: JobStore) -> None:
    assert store.barrier_add("chord-1", 0, '"a"', 3, 0) is None
    assert store.barrier_add("chord-1", 2, '"c"', 3, 0) is None
    assert store.barrier_add("chord-1", 0, '"again"', 3, 0) is None  # counted once, first value kept
    assert store.barrier_add("chord-1", 1, '"b"', 3, 0) == {0: '"a"', 1: '"b"', 2: '"c"'}
    # A part recorded again after completion (a re-run) sees it complete too.
    assert store.barrier_add("chord-1", 1, '"b2"', 3, 0) == {0: '"a"', 1: '"b"', 2: '"c"'}
    assert store.barrier_add("chord-2", 0, "x", 1, 0) == {0: "x"}


def test_barrier_parts_racing_complete_it(store: JobStore) -> None:
    counter = iter(range(8))
    lock = threading.Lock()

    def add() -> dict | None:
        with lock:
            index = next(counter)
        return store.barrier_add("race", index, str(index), 8, 0)

    results = run_together(add, 8)
    complete = [r for r in results if r is not None]
    assert len(complete) == 1 and complete[0] == {i: str(i) for i in range(8)}


def test_barrier_expires(store: JobStore) -> None:
    store.barrier_add("short", 0, "a", 2, 1)
    store.set_value("sentinel", "v", ttl=1)  # set after the barrier: expires no sooner
    wait_for(lambda: store.get_value("sentinel") is None, timeout=10, message="the sentinel to expire")
    assert store.barrier_add("short", 1, "b", 2, 1) is None  # the first part went with the barrier


# --- values ----------------------------------------------------------------------------

def test_values_set_get_delete(store: JobStore) -> None:
    assert store.get_value("group:1") is None
    store.set_value("group:1", '["a", "b"]')
    assert store.get_value("group:1") == '["a", "b"]'
    store.set_value("group:1", "replaced")
    assert store.get_value("group:1") == "replaced"
    store.delete_value("group:1")
    assert store.get_value("group:1") is None
    store.delete_value("group:1")


def test_value_with_ttl_expires_and_a_new_set_keeps_none(store: JobStore) -> None:
    store.set_value("short", "v", ttl=1)
    store.set_value("long", "v", ttl=1)
    store.set_value("long", "kept")  # set again without ttl: no expiry
    wait_for(lambda: store.get_value("short") is None, timeout=10, message="the value to expire")
    assert store.get_value("long") == "kept"


def test_values_do_not_collide_with_jobs(store: JobStore) -> None:
    (job_id,) = queued(store, spec())
    store.set_value(job_id, "v")
    assert status_of(store, job_id) == "queued"
    store.delete_value(job_id)
    assert status_of(store, job_id) == "queued"


# --- messages --------------------------------------------------------------------------

def test_publish_reaches_current_subscribers_in_order(store: JobStore) -> None:
    assert store.publish("control", "nobody listens") == 0
    with store.subscribe("control") as first, store.subscribe("control") as second:
        assert store.publish("control", "one") == 2
        assert store.publish("control", "two") == 2
        assert store.publish("elsewhere", "x") == 0
        assert [first.get(5.0), first.get(5.0)] == ["one", "two"]
        assert [second.get(5.0), second.get(5.0)] == ["one", "two"]
        assert first.get(0.05) is None
    wait_for(lambda: store.publish("control", "after close") == 0, timeout=10, message="unsubscribed")


def test_subscription_in_another_thread(store: JobStore) -> None:
    got: list[str | None] = []
    with store.subscribe("control") as sub:
        thread = threading.Thread(target=lambda: got.append(sub.get(20.0)))
        thread.start()
        store.publish("control", "terminate abc")
        thread.join(30)
    assert got == ["terminate abc"]


def test_channels_do_not_collide_with_done_notices(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    with store.subscribe(job_id) as sub, store.done_waiter(job_id) as waiter:
        store.publish(job_id, "mine")
        assert waiter.wait(0.2) is False
        store.finish("w", [finish(job_id, "success", result="1")])
        assert waiter.wait(5.0)
        assert sub.get(5.0) == "mine" and sub.get(0.2) is None
