"""Contract: ``QueueStore`` (sizes, names, pause, purge) and ``WorkerRegistry`` (heartbeats, holdings)."""
from __future__ import annotations

import time

from mrqcore.store.base import JobStore
from tests.conftest import wait_for
from tests.store.conftest import finish, queued, spec, started


# --- QueueStore ------------------------------------------------------------------------

def test_queue_size_counts_waiting_ids(store: JobStore) -> None:
    assert store.queue_size("q") == 0
    queued(store, spec(), spec(), spec(due=time.time() + 60))
    assert store.queue_size("q") == 2


def test_known_queues_sorted_regular_and_raw(store: JobStore) -> None:
    queued(store, spec(queue="zeta"), spec(queue="alpha"))
    store.raw_push("items_raw", "list", ["a"])
    known = store.known_queues()
    assert known == sorted(known)
    assert {"zeta", "alpha", "items_raw"} <= set(known)


def test_purge_queue_removes_every_waiting_id(store: JobStore) -> None:
    queued(store, spec(), spec(), spec(queue="kept"))
    assert store.purge_queue("q") == 2
    assert store.queue_size("q") == 0 and store.queue_size("kept") == 1
    assert store.purge_queue("q") == 0
    assert store.dequeue("w", ["q"], 5, time.time()) == []


def test_pause_resume_and_paused_names(store: JobStore) -> None:
    assert store.paused_queues() == set()
    store.pause_queue("a")
    store.pause_queue("crawl/")
    store.pause_queue("a")
    assert store.paused_queues() == {"a", "crawl/"}
    with store.notify_waiter() as waiter:
        store.resume_queue("a")
        assert waiter.wait(5.0)  # resuming wakes idle workers
    assert store.paused_queues() == {"crawl/"}
    store.resume_queue("never-paused")
    assert store.paused_queues() == {"crawl/"}


def test_queueing_onto_a_paused_queue_still_works(store: JobStore) -> None:
    store.pause_queue("q")
    queued(store, spec())
    assert store.queue_size("q") == 1
    assert store.dequeue("w", ["q"], 1, time.time()) == []


def test_queue_state_reads_known_and_paused_together(store: JobStore) -> None:
    queued(store, spec(queue="one"), spec(queue="two"))
    store.pause_queue("two")
    known, paused = store.queue_state()
    assert {"one", "two"} <= known and paused == {"two"}


# --- WorkerRegistry --------------------------------------------------------------------

def test_heartbeat_stores_report_and_time(store: JobStore) -> None:
    now = time.time()
    store.heartbeat("w1", {"status": "running", "greenlets": "4"}, 60, now)
    assert store.worker_heartbeats() == {"w1": now}
    ((report, held),) = store.worker_reports(["w1"])
    assert report == {"status": "running", "greenlets": "4"} and held == 0
    store.heartbeat("w1", {"status": "stopping", "greenlets": "4"}, 60, now + 1)
    assert store.worker_heartbeats()["w1"] == now + 1
    assert store.worker_reports(["w1"])[0][0]["status"] == "stopping"


def test_worker_report_expires_after_its_ttl(store: JobStore) -> None:
    store.heartbeat("w1", {"status": "running"}, 1, time.time())
    wait_for(lambda: store.worker_reports(["w1"]) == [({}, 0)], timeout=10, message="the report to expire")


def test_worker_reports_in_order_with_jobs_held(store: JobStore) -> None:
    started(store, "busy", spec(), spec())
    store.heartbeat("busy", {"status": "running"}, 60, time.time())
    reports = store.worker_reports(["missing", "busy"])
    assert reports == [({}, 0), ({"status": "running"}, 2)]


def test_touch_worker_records_a_heartbeat_time_only(store: JobStore) -> None:
    now = time.time()
    store.touch_worker("w1", now)
    assert store.worker_heartbeats() == {"w1": now}
    assert store.worker_reports(["w1"]) == [({}, 0)]


def test_worker_heartbeats_before(store: JobStore) -> None:
    now = time.time()
    store.touch_worker("old", now - 100)
    store.touch_worker("new", now)
    assert store.worker_heartbeats(before=now - 50) == {"old": now - 100}
    assert store.worker_heartbeats(before=now - 100) == {}  # strictly older
    assert set(store.worker_heartbeats()) == {"old", "new"}


def test_unregister_removes_heartbeat_and_report_not_holdings(store: JobStore) -> None:
    (job_id,) = started(store, "w1", spec())
    store.heartbeat("w1", {"status": "running"}, 60, time.time())
    store.unregister_worker("w1")
    assert store.worker_heartbeats() == {}
    assert store.worker_reports(["w1"]) == [({}, 1)]
    assert store.inflight("w1") == [job_id]
    store.unregister_worker("never-registered")


def test_inflight_oldest_first(store: JobStore) -> None:
    now = time.time()
    queued(store, spec(queue="a"), spec(queue="b"))
    (first, _), = store.dequeue("w", ["a"], 1, now - 10)
    (second, _), = store.dequeue("w", ["b"], 1, now)
    assert store.inflight("w") == [first, second]
    assert store.inflight("nobody") == []


def test_orphan_holders(store: JobStore) -> None:
    now = time.time()
    queued(store, spec(queue="a"), spec(queue="b"), spec(queue="c"))
    store.dequeue("orphan", ["a"], 1, now - 100)
    store.dequeue("recent", ["b"], 1, now)
    store.dequeue("beating", ["c"], 1, now - 100)
    store.touch_worker("beating", now - 100)
    assert store.orphan_holders(now - 50) == ["orphan"]


def test_drop_inflight(store: JobStore) -> None:
    a, b = started(store, "w", spec(), spec())
    assert store.drop_inflight("w", [a, "not-held"]) == 1
    assert store.inflight("w") == [b]
    assert store.drop_inflight("w", [a]) == 0
    store.finish("w", [finish(b, "success", result="1")])
    assert store.inflight("w") == []
