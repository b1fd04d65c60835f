"""Contract: ``MaintenanceStore`` (locks, interrupted jobs, scheduled clean-up, schedule claims,
rate limits, max_concurrency slots)."""
from __future__ import annotations

import time

import pytest

from mrqcore.store.base import HOLD_DUE, JobStore
from tests.conftest import wait_for
from tests.store.conftest import finish, new_id, queued, run_together, spec, started, status_of


# --- locks -----------------------------------------------------------------------------

def test_lock_is_taken_once_and_released_by_its_holder(store: JobStore) -> None:
    assert store.try_lock("recover:w1", "me", 30)
    assert not store.try_lock("recover:w1", "you", 30)
    store.unlock("recover:w1", "you")  # not the holder: no effect
    assert not store.try_lock("recover:w1", "you", 30)
    store.unlock("recover:w1", "me")
    assert store.try_lock("recover:w1", "you", 30)
    store.unlock("never-taken", "me")  # never raises


def test_lock_expires(store: JobStore) -> None:
    assert store.try_lock("short", "me", 0.2)
    wait_for(lambda: store.try_lock("short", "you", 30), timeout=10, message="the lock to expire")
    store.unlock("short", "me")  # lost meanwhile: no effect, no error
    assert not store.try_lock("short", "me", 30)


def test_two_callers_take_a_lock_once(store: JobStore) -> None:
    assert sorted(run_together(lambda: store.try_lock("race", new_id(), 30), 4)) == [False, False, False, True]


# --- interrupted -----------------------------------------------------------------------

def test_pop_interrupted_lists_still_interrupted_and_prunes_the_rest(store: JobStore) -> None:
    a, b, c = started(store, "w", spec(), spec(), spec())
    store.finish("w", [finish(a, "interrupt"), finish(b, "interrupt"), finish(c, "interrupt")])
    assert sorted(store.pop_interrupted(10)) == sorted([(a, "w"), (b, "w"), (c, "w")])
    assert len(store.pop_interrupted(2)) == 2
    assert store.requeue(b, time.time()) == "interrupt"  # moved on: pruned by the next call
    assert sorted(store.pop_interrupted(10)) == sorted([(a, "w"), (c, "w")])
    store.delete([c])
    assert store.pop_interrupted(10) == [(a, "w")]


# --- scheduled clean-up ----------------------------------------------------------------

def test_scheduled_ids_and_dropping_those_without_record(store: JobStore) -> None:
    now = time.time()
    kept, gone = spec(due=now + 60), spec(due=now + 60)
    queued(store, kept, gone)
    assert set(store.scheduled_ids()) == {kept.id, gone.id}
    store.delete([gone.id])
    assert store.drop_scheduled_without_record([kept.id, gone.id]) == 1
    assert set(store.scheduled_ids()) == {kept.id}
    assert store.drop_scheduled_without_record([gone.id, new_id()]) == 0
    assert store.drop_scheduled_without_record([]) == 0


# --- schedule claims -------------------------------------------------------------------

def test_claim_schedule_first_run_sets_the_marker_without_queueing(store: JobStore) -> None:
    now = time.time()
    job = spec(queue="beat")
    assert store.claim_schedule("every-minute", now, 3600, [job], now, queue_first=False) == (True, None)
    assert store.queue_size("beat") == 0 and store.get(job.id) is None
    nxt = spec(queue="beat")
    assert store.claim_schedule("every-minute", now + 60, 3600, [nxt], now, queue_first=False) == (True, now)
    assert store.queue_size("beat") == 1 and status_of(store, nxt.id) == "queued"


def test_claim_schedule_with_queue_first_queues_the_first_run(store: JobStore) -> None:
    now = time.time()
    job = spec(queue="beat")
    assert store.claim_schedule("entry", now, 3600, [job], now, queue_first=True) == (True, None)
    assert store.queue_size("beat") == 1


def test_claim_schedule_refuses_a_run_already_claimed(store: JobStore) -> None:
    now = time.time()
    store.claim_schedule("entry", now, 3600, [spec(queue="beat")], now, queue_first=True)
    assert store.claim_schedule("entry", now, 3600, [spec(queue="beat")], now, queue_first=True) == (False, now)
    assert store.claim_schedule("entry", now - 60, 3600, [spec(queue="beat")], now, True) == (False, now)
    assert store.queue_size("beat") == 1


def test_two_schedulers_claim_a_run_once(store: JobStore) -> None:
    now = time.time()
    store.claim_schedule("entry", now, 3600, [], now, queue_first=False)
    results = run_together(lambda: store.claim_schedule("entry", now + 60, 3600, [spec(queue="beat")], now,
                                                        queue_first=False), 4)
    assert sorted(claimed for claimed, _ in results) == [False, False, False, True]
    assert store.queue_size("beat") == 1


def test_claim_schedule_marker_expires(store: JobStore) -> None:
    now = time.time()
    store.claim_schedule("entry", now, 1, [], now, queue_first=False)
    # Once the marker is gone the next claim looks like a first run: nothing queued.
    wait_for(lambda: store.claim_schedule("entry", now, 1, [spec(queue="beat")], now, False) == (True, None),
             timeout=10, message="the marker to expire")
    assert store.queue_size("beat") == 0


# --- rate limits -----------------------------------------------------------------------

def test_ratelimit_counts_down_then_refuses(store: JobStore) -> None:
    assert [store.ratelimit("api", 3, 3600) for _ in range(5)] == [3, 2, 1, 0, 0]
    assert store.ratelimit("other-key", 1, 3600) == 1


def test_ratelimit_window_turns(store: JobStore) -> None:
    wait_for(lambda: store.ratelimit("fast", 1, 0.5) == 1 and store.ratelimit("fast", 1, 0.5) == 0,
             timeout=10, message="a fresh window")
    wait_for(lambda: store.ratelimit("fast", 1, 0.5) == 1, timeout=10, message="the next window")


# --- max_concurrency slots -------------------------------------------------------------

def test_acquire_slots_admits_up_to_the_limit_and_puts_the_rest_back(store: JobStore) -> None:
    now = time.time()
    a, b, c = started(store, "w", spec(path="t"), spec(path="t"), spec(path="t"))
    queued(store, spec())  # already waiting: the rejected job goes behind it
    flags = store.acquire_slots("w", now, 30, [(a, "t", 2, "q"), (b, "t", 2, "q"), (c, "t", 2, "q")])
    assert flags == [True, True, False]
    record = store.get(c) or {}
    assert record["status"] == "queued" and "worker" not in record and "datestarted" not in record
    assert sorted(store.inflight("w")) == sorted([a, b])
    assert store.queue_size("q") == 2
    # Taking the same job's slot again is admitted (a slot per job, not per call).
    assert store.acquire_slots("w", now, 30, [(a, "t", 2, "q")]) == [True]
    store.finish("w", [finish(a, "success", result="1")])
    store.release_slots([(a, "t")])
    got = [job_id for job_id, _ in store.dequeue("w", ["q"], 5, now)]
    assert got[-1] == c
    assert store.acquire_slots("w", now, 30, [(c, "t", 2, "q")]) == [True]


def test_acquire_slots_frees_slots_of_finished_jobs_and_lost_workers(store: JobStore) -> None:
    now = time.time()
    (finished,) = started(store, "w1", spec(path="t", queue="a"))
    (lost,) = started(store, "dead", spec(path="t", queue="b"))
    (alive,) = started(store, "w2", spec(path="t", queue="c"))
    store.touch_worker("dead", now - 100)
    store.touch_worker("w2", now)
    assert store.acquire_slots("w1", now, 30, [(finished, "t", 3, "a")]) == [True]
    assert store.acquire_slots("dead", now - 100, 30, [(lost, "t", 3, "b")]) == [True]
    assert store.acquire_slots("w2", now, 30, [(alive, "t", 3, "c")]) == [True]
    store.finish("w1", [finish(finished, "success", result="1")])  # slot not released: stale
    (new_a, new_b, over) = started(store, "w3", spec(path="t", queue="d"), spec(path="t", queue="d"),
                                   spec(path="t", queue="d"))
    flags = store.acquire_slots("w3", now, 30, [(new_a, "t", 3, "d"), (new_b, "t", 3, "d"), (over, "t", 3, "d")])
    assert flags == [True, True, False]  # alive's slot stays taken


def test_release_slots_frees_them(store: JobStore) -> None:
    now = time.time()
    a, b = started(store, "w", spec(path="t"), spec(path="t"))
    assert store.acquire_slots("w", now, 30, [(a, "t", 1, "q")]) == [True]
    store.release_slots([(a, "t"), (new_id(), "other")])
    assert store.acquire_slots("w", now, 30, [(b, "t", 1, "q")]) == [True]


def test_scheduled_count_counts_jobs_waiting_for_a_time_only(store: JobStore) -> None:
    now = time.time()
    assert store.scheduled_count() == 0
    store.enqueue([spec(due=now + 3600), spec(due=now + 7200), spec(), spec(due=HOLD_DUE)], now)
    assert store.scheduled_count() == 2  # the queued one and the held one are not counted
    moved, _ = store.promote_due(now + 3601)
    assert moved == 1 and store.scheduled_count() == 1


# --- evenly spaced calls (GCRA) ------------------------------------------------------------

def test_space_calls_admits_one_call_per_interval(store: JobStore) -> None:
    assert store.space_calls("api", 3600) == 0.0
    wait = store.space_calls("api", 3600)
    assert 3590 < wait <= 3600  # the next slot, one interval after the admitted call
    assert 3590 < store.space_calls("api", 3600) <= 3600  # a refused call takes no slot
    assert store.space_calls("other-key", 3600) == 0.0


def test_space_calls_burst_admits_back_to_back_then_spaces(store: JobStore) -> None:
    assert [store.space_calls("b", 3600, burst=3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert store.space_calls("b", 3600, burst=3) > 3590


def test_space_calls_admits_again_after_the_wait(store: JobStore) -> None:
    assert store.space_calls("fast", 0.2) == 0.0
    wait_for(lambda: store.space_calls("fast", 0.2) == 0.0, timeout=10, message="the next slot")


def test_space_calls_is_independent_of_ratelimit(store: JobStore) -> None:
    assert store.space_calls("shared", 3600) == 0.0
    assert store.ratelimit("shared", 1, 3600) == 1


@pytest.mark.parametrize("interval, burst", [(0, 1), (-1, 1), ("1", 1), (1, 0), (1, 1.5)])
def test_space_calls_refuses_bad_arguments(store: JobStore, interval: object, burst: object) -> None:
    with pytest.raises(ValueError, match="space_calls"):
        store.space_calls("k", interval, burst)  # type: ignore[arg-type]


def test_space_calls_admits_one_of_concurrent_callers(store: JobStore) -> None:
    waits = run_together(lambda: store.space_calls("race", 3600), n=6)
    assert sorted(waits)[0] == 0.0 and all(wait > 3590 for wait in sorted(waits)[1:]), waits
