"""Contract: ``RawQueueStore``, the four raw queue kinds, popping into a worker's hands, recovery."""
from __future__ import annotations

import time

import pytest

from mrqcore.store.base import JobStore, RawJob
from tests.store.conftest import new_id, status_of


def pop(store: JobStore, queue: str, kind: str, n: int, worker: str = "w", now: float | None = None,
        pushback: float = 0.0) -> list[str]:
    """Pop up to ``n`` items; returns the items (their job ids are fresh uuids)."""
    popped = store.raw_pop(queue, kind, worker, [new_id() for _ in range(n)],
                           time.time() if now is None else now, pushback)
    return [p.item for p in popped]


# --- push, size, items, remove, empty --------------------------------------------------

def test_list_queue_serves_in_order(store: JobStore) -> None:
    store.raw_push("jobs_raw", "list", ["a", "b", "c", "a"])
    assert store.raw_size("jobs_raw", "list") == 4
    assert store.raw_items("jobs_raw", "list") == ["a", "b", "c", "a"]
    assert store.raw_items("jobs_raw", "list", skip=1, limit=2) == ["b", "c"]
    assert pop(store, "jobs_raw", "list", 2) == ["a", "b"]
    store.raw_remove("jobs_raw", "list", ["a"])
    assert store.raw_items("jobs_raw", "list") == ["c"]


def test_set_queue_holds_each_item_once(store: JobStore) -> None:
    store.raw_push("urls_set", "set", ["x", "y", "x"])
    store.raw_push("urls_set", "set", ["y"])
    assert store.raw_size("urls_set", "set") == 2
    assert sorted(store.raw_items("urls_set", "set", limit=10)) == ["x", "y"]
    assert len(store.raw_items("urls_set", "set", limit=1)) == 1
    store.raw_remove("urls_set", "set", ["x"])
    assert sorted(pop(store, "urls_set", "set", 5)) == ["y"]
    assert store.raw_size("urls_set", "set") == 0


def test_sorted_queue_serves_lowest_score_first(store: JobStore) -> None:
    store.raw_push("rank_sorted_set", "sorted", [("mid", 5.0), ("low", 1.0), ("high", 9.0)])
    store.raw_push("rank_sorted_set", "sorted", [("high", 0.5)])  # re-scored
    assert store.raw_items("rank_sorted_set", "sorted") == ["high", "low", "mid"]
    assert store.raw_items("rank_sorted_set", "sorted", skip=1, limit=1) == ["low"]
    assert pop(store, "rank_sorted_set", "sorted", 2) == ["high", "low"]
    store.raw_remove("rank_sorted_set", "sorted", ["mid"])
    assert store.raw_size("rank_sorted_set", "sorted") == 0


def test_timed_queue_serves_due_items_only(store: JobStore) -> None:
    now = time.time()
    store.raw_push("later_timed_set", "timed", [("due2", now - 1), ("due1", now - 5), ("future", now + 3600)])
    assert store.raw_size("later_timed_set", "timed") == 3
    assert store.raw_size("later_timed_set", "timed", due_before=now) == 2
    assert pop(store, "later_timed_set", "timed", 5, now=now) == ["due1", "due2"]
    assert store.raw_items("later_timed_set", "timed") == ["future"]


def test_raw_empty_deletes_every_item(store: JobStore) -> None:
    store.raw_push("jobs_raw", "list", ["a", "b"])
    store.raw_empty("jobs_raw")
    assert store.raw_size("jobs_raw", "list") == 0
    store.raw_empty("never-used_raw")


def test_raw_push_records_the_name_and_wakes_workers(store: JobStore) -> None:
    with store.notify_waiter() as waiter:
        store.raw_push("jobs_raw", "list", ["a"])
        assert waiter.wait(5.0)
    assert "jobs_raw" in store.known_queues()


def test_raw_empty_queues_read_as_empty(store: JobStore) -> None:
    store.raw_push("nothing", "list", [])
    assert "nothing" not in store.known_queues()
    assert store.raw_items("nothing", "list", limit=0) == []
    for kind in store.RAW_KINDS:
        assert store.raw_size("nothing", kind) == 0
        assert store.raw_items("nothing", kind) == []
        assert store.raw_pop("nothing", kind, "w", [new_id()], time.time()) == []


# --- pop -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,items", [("list", ["a", "b"]), ("set", ["a", "b"]),
                                        ("sorted", [("a", 1.0), ("b", 2.0)]), ("timed", [("a", 1.0), ("b", 2.0)])])
def test_pop_hands_items_to_the_worker_with_the_given_job_ids(store: JobStore, kind: str, items: list) -> None:
    store.raw_push("jobs", kind, items)
    ids = [new_id(), new_id(), new_id()]
    popped = store.raw_pop("jobs", kind, "w", ids, time.time())
    assert [p.job_id for p in popped] == ids[:2]
    assert sorted(p.item for p in popped) == ["a", "b"]
    assert store.raw_size("jobs", kind) == 0
    assert store.raw_holders() == ["w"]


def test_pop_of_a_paused_queue_gives_nothing(store: JobStore) -> None:
    store.raw_push("jobs_raw", "list", ["a"])
    store.pause_queue("jobs_raw")
    assert pop(store, "jobs_raw", "list", 1) == []
    assert store.raw_size("jobs_raw", "list") == 1
    store.resume_queue("jobs_raw")
    assert pop(store, "jobs_raw", "list", 1) == ["a"]


def test_pop_with_pushback_rescores_and_does_not_track(store: JobStore) -> None:
    now = time.time()
    store.raw_push("t_timed_set", "timed", [("a", now - 1), ("b", now - 1)])
    assert pop(store, "t_timed_set", "timed", 1, now=now, pushback=60) == ["a"]
    assert store.raw_size("t_timed_set", "timed") == 2
    assert store.raw_size("t_timed_set", "timed", due_before=now) == 1
    assert store.raw_size("t_timed_set", "timed", due_before=now + 61) == 2
    assert store.raw_holders() == []
    assert pop(store, "t_timed_set", "timed", 5, now=now, pushback=60) == ["b"]
    assert pop(store, "t_timed_set", "timed", 5, now=now + 61, pushback=60) == ["a", "b"]


# --- start -----------------------------------------------------------------------------

def test_raw_start_makes_started_jobs_held_by_the_worker(store: JobStore) -> None:
    store.raw_push("jobs_raw", "list", ["a", "b"])
    now = time.time()
    popped = store.raw_pop("jobs_raw", "list", "w", [new_id(), new_id()], now)
    runnable = RawJob(popped[0].job_id, "jobs_raw", {"path": "t", "raw_param": "a"})
    failed = RawJob(popped[1].job_id, "jobs_raw", {"path": "t", "status": "failed", "raw_param": "b"},
                    runnable=False)
    assert store.raw_start("w", now, [runnable, failed]) == [runnable.job_id, failed.job_id]
    record = store.get(runnable.job_id) or {}
    assert record["status"] == "started" and record["worker"] == "w" and record["queue"] == "jobs_raw"
    assert record["raw_param"] == "a"
    assert status_of(store, failed.job_id) == "failed"
    assert store.inflight("w") == [runnable.job_id]
    assert store.raw_holders() == []  # every popped item became a job


def test_raw_start_untracked_and_with_ttl(store: JobStore) -> None:
    job = RawJob(new_id(), "t_timed_set", {"path": "t", "status": "failed"}, runnable=False, tracked=False,
                 ttl=1)
    assert store.raw_start("w", time.time(), [job]) == [job.job_id]
    from tests.conftest import wait_for
    wait_for(lambda: store.get(job.job_id) is None, timeout=10, message="the record to expire")


def test_raw_start_skips_an_item_recovery_gave_back(store: JobStore) -> None:
    store.raw_push("jobs_raw", "list", ["a"])
    (popped,) = store.raw_pop("jobs_raw", "list", "w", [new_id()], time.time())
    assert store.raw_recover("w") == 1
    assert store.raw_start("w", time.time(), [RawJob(popped.job_id, "jobs_raw", {"path": "t"})]) == []
    assert store.get(popped.job_id) is None
    assert store.raw_items("jobs_raw", "list") == ["a"]


# --- recover ---------------------------------------------------------------------------

def test_raw_recover_gives_items_back_in_their_order(store: JobStore) -> None:
    now = time.time()
    store.raw_push("jobs_raw", "list", ["a", "b", "c", "d"])
    store.raw_push("s_set", "set", ["x"])
    store.raw_push("r_sorted_set", "sorted", [("low", 1.0), ("high", 2.0)])
    pop(store, "jobs_raw", "list", 2, worker="dead", now=now - 10)
    pop(store, "jobs_raw", "list", 1, worker="dead", now=now - 5)
    pop(store, "s_set", "set", 1, worker="dead")
    pop(store, "r_sorted_set", "sorted", 1, worker="dead")
    store.raw_push("r_sorted_set", "sorted", [("low", 7.0)])  # queued again meanwhile: its new score wins
    with store.notify_waiter() as waiter:
        assert store.raw_recover("dead") == 5
        assert waiter.wait(5.0)
    assert store.raw_items("jobs_raw", "list") == ["a", "b", "c", "d"]
    assert store.raw_items("s_set", "set") == ["x"]
    assert store.raw_items("r_sorted_set", "sorted") == ["high", "low"]
    assert store.raw_holders() == []
    assert store.raw_recover("dead") == 0
