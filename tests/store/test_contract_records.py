"""Contract: ``JobRecords``, the hot path (enqueue, dequeue, finish, promote, records, cancel, requeue)."""
from __future__ import annotations

import threading
import time

from mrqcore.store.base import JobStore
from tests.conftest import wait_for
from tests.store.conftest import finish, new_id, queued, spec, started, status_of


# --- enqueue ---------------------------------------------------------------------------

def test_enqueue_creates_queued_records_in_order(store: JobStore) -> None:
    now = time.time()
    a, b = spec(params='{"x": 1}'), spec()
    assert store.enqueue([a, b], now) == []
    record = store.get(a.id)
    assert record is not None
    assert record["status"] == "queued" and record["queue"] == "q" and record["params"] == '{"x": 1}'
    assert float(record["datequeued"]) == now and float(record["dateupdated"]) == now
    assert store.queue_size("q") == 2
    assert [job_id for job_id, _ in store.dequeue("w", ["q"], 5, now)] == [a.id, b.id]


def test_enqueue_skips_an_id_with_a_live_record(store: JobStore) -> None:
    first = spec(params="1")
    queued(store, first)
    again = spec(first.id, params="2")
    fresh = spec()
    assert store.enqueue([again, fresh], time.time()) == [first.id]
    assert store.get(first.id, ("params",)) == {"params": "1"}
    assert store.queue_size("q") == 2  # the skipped one is not queued a second time
    store.dequeue("w", ["q"], 1, time.time())  # started: still live
    assert store.enqueue([spec(first.id)], time.time()) == [first.id]


def test_enqueue_skips_an_id_whose_record_is_finished(store: JobStore) -> None:
    # Idempotent enqueue (reliability.md): a retried call after an ambiguous error never runs
    # a finished job again; Job.requeue is the way to run it again on purpose.
    (job_id,) = started(store, "w", spec())
    store.finish("w", [finish(job_id, "failed", log=["old line"], traceback="boom")])
    assert store.enqueue([spec(job_id)], time.time()) == [job_id]
    record = store.get(job_id)
    assert record is not None and record["status"] == "failed" and record["traceback"] == "boom"
    assert store.log_lines(job_id) == ["old line"]
    assert store.queue_size("q") == 0


def test_enqueue_with_due_waits_in_the_scheduled_set(store: JobStore) -> None:
    later = spec(due=time.time() + 3600)
    queued(store, later)
    assert status_of(store, later.id) == "queued"
    assert store.queue_size("q") == 0
    assert later.id in set(store.scheduled_ids())
    assert store.dequeue("w", ["q"], 5, time.time()) == []


def test_enqueue_records_the_queue_name(store: JobStore) -> None:
    queued(store, spec(queue="alpha"), spec(queue="beta", due=time.time() + 60))
    assert {"alpha", "beta"} <= set(store.known_queues())


def test_enqueue_wakes_idle_workers(store: JobStore) -> None:
    with store.notify_waiter() as waiter:
        queued(store, spec())
        assert waiter.wait(5.0)


# --- dequeue ---------------------------------------------------------------------------

def test_dequeue_marks_started_and_held_by_the_worker(store: JobStore) -> None:
    (job_id,) = queued(store, spec())
    now = time.time()
    ((got_id, record),) = store.dequeue("w1", ["q"], 1, now)
    assert got_id == job_id
    assert record["status"] == "started" and record["worker"] == "w1"
    assert float(record["datestarted"]) == now
    assert store.get(job_id, ("status", "worker")) == {"status": "started", "worker": "w1"}
    assert store.inflight("w1") == [job_id]
    assert store.queue_size("q") == 0


def test_dequeue_serves_first_queues_first_up_to_count(store: JobStore) -> None:
    low = queued(store, spec(queue="low"), spec(queue="low"))
    high = queued(store, spec(queue="high"))
    got = [job_id for job_id, _ in store.dequeue("w", ["high", "low"], 2, time.time())]
    assert got == [high[0], low[0]]
    assert store.dequeue("w", ["high", "low"], 0, time.time()) == []
    assert store.dequeue("w", [], 5, time.time()) == []


def test_dequeue_skips_paused_queues(store: JobStore) -> None:
    (paused_id,) = queued(store, spec(queue="paused"))
    (other_id,) = queued(store, spec(queue="other"))
    store.pause_queue("paused")
    got = store.dequeue("w", ["paused", "other"], 5, time.time())
    assert [job_id for job_id, _ in got] == [other_id]
    store.resume_queue("paused")
    assert [job_id for job_id, _ in store.dequeue("w", ["paused"], 5, time.time())] == [paused_id]


def test_dequeue_drops_ids_whose_record_is_not_queued(store: JobStore) -> None:
    cancelled, deleted, good = queued(store, spec(), spec(), spec())
    store.update(cancelled, {"status": "cancel"})  # left in the list: dequeue must drop it
    store.delete([deleted])
    assert [job_id for job_id, _ in store.dequeue("w", ["q"], 5, time.time())] == [good]
    assert store.queue_size("q") == 0


def test_a_job_is_never_dequeued_twice(store: JobStore) -> None:
    ids = queued(store, *[spec() for _ in range(200)])
    got: list[list[str]] = [[], [], [], []]

    def drain(slot: int) -> None:
        while True:
            jobs = store.dequeue(f"w{slot}", ["q"], 3, time.time())
            if not jobs:
                return
            got[slot] += [job_id for job_id, _ in jobs]

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = [job_id for part in got for job_id in part]
    assert sorted(everything) == sorted(ids)  # each once, none lost
    for slot, part in enumerate(got):
        assert sorted(store.inflight(f"w{slot}")) == sorted(part)


# --- finish ----------------------------------------------------------------------------

def test_finish_writes_fields_log_releases_and_notifies(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    with store.done_waiter(job_id) as waiter:
        store.finish("w", [finish(job_id, "failed", log=["a", "b"], traceback="tb")])
        assert wait_for(lambda: waiter.wait(1.0), timeout=10, message="done notice")
        assert waiter.message == "failed"
    record = store.get(job_id)
    assert record is not None and record["status"] == "failed" and record["traceback"] == "tb"
    assert store.log_lines(job_id) == ["a", "b"]
    assert store.inflight("w") == []


def test_finish_success_notice_carries_a_small_result(store: JobStore) -> None:
    small, large = started(store, "w", spec(), spec())
    big = '"' + "x" * 5000 + '"'
    with store.done_waiter(small) as small_waiter, store.done_waiter(large) as large_waiter:
        store.finish("w", [finish(small, "success", result="[1, 2]"), finish(large, "success", result=big)])
        assert small_waiter.wait(5.0) and small_waiter.message == "success\n[1, 2]"
        assert large_waiter.wait(5.0) and large_waiter.message == "success"
    assert store.get(large, ("result",)) == {"result": big}


def test_finish_with_ttl_expires_record_and_log(store: JobStore) -> None:
    keep, expire = started(store, "w", spec(), spec())
    store.finish("w", [finish(keep, "success", result="1"),
                       finish(expire, "success", ttl=1, log=["line"], result="2")])
    wait_for(lambda: store.get(expire) is None, timeout=10, message="the record to expire")
    assert store.log_lines(expire) == []
    assert store.get(keep, ("result",)) == {"result": "1"}


def test_finish_with_due_parks_the_job_for_a_retry(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    due = time.time() + 3600
    store.finish("w", [finish(job_id, "retry", due=due, retry_count="1")])
    assert status_of(store, job_id) == "retry"
    assert job_id in set(store.scheduled_ids())
    assert store.inflight("w") == []
    moved, nxt = store.promote_due(due + 1)
    assert moved == 1 and nxt is None
    assert store.get(job_id, ("status", "retry_count")) == {"status": "queued", "retry_count": "1"}


def test_finish_interrupt_marks_the_job_for_recovery(store: JobStore) -> None:
    interrupted, other = started(store, "w", spec(), spec())
    store.finish("w", [finish(interrupted, "interrupt"), finish(other, "failed")])
    assert store.pop_interrupted(10) == [(interrupted, "w")]


# --- promote_due -----------------------------------------------------------------------

def test_promote_due_queues_due_jobs_once_and_reports_the_next(store: JobStore) -> None:
    now = time.time()
    due_a, due_b, later = spec(due=now - 2), spec(due=now - 1), spec(due=now + 500)
    queued(store, due_a, due_b, later)
    with store.notify_waiter() as waiter:
        moved, nxt = store.promote_due(now)
        assert moved == 2 and nxt == later.due
        assert waiter.wait(5.0)
    assert store.promote_due(now) == (0, later.due)
    got = [job_id for job_id, _ in store.dequeue("w", ["q"], 5, now)]
    assert got == [due_a.id, due_b.id]


def test_promote_due_respects_limit(store: JobStore) -> None:
    now = time.time()
    queued(store, *[spec(due=now - 10 + i) for i in range(5)])
    assert store.promote_due(now, limit=2)[0] == 2
    assert store.queue_size("q") == 2
    assert store.promote_due(now, limit=10)[0] == 3


def test_promote_due_drops_ids_that_moved_on(store: JobStore) -> None:
    now = time.time()
    job = spec(due=now + 1)
    queued(store, job)
    store.update(job.id, {"status": "cancel"})
    assert store.promote_due(now + 2) == (0, None)
    assert store.queue_size("q") == 0
    assert job.id not in set(store.scheduled_ids())


def test_promote_due_never_queues_a_held_job(store: JobStore) -> None:
    from mrqcore.store.base import HOLD_DUE
    held = spec(due=HOLD_DUE)
    queued(store, held)
    moved, _ = store.promote_due(time.time() + 10 * 365 * 86400)
    assert moved == 0 and store.queue_size("q") == 0


# --- reading and writing records -------------------------------------------------------

def test_get_whole_record_some_fields_or_none(store: JobStore) -> None:
    (job_id,) = queued(store, spec(params="p"))
    assert store.get(job_id, ("params", "status")) == {"params": "p", "status": "queued"}
    assert store.get(job_id, ("result",)) == {}
    assert store.get(new_id()) is None
    assert store.get(new_id(), ("status",)) is None


def test_get_many_in_order_with_none_for_missing(store: JobStore) -> None:
    a, b = queued(store, spec(params="a"), spec(params="b"))
    missing = new_id()
    assert store.get_many([b, missing, a], ("params",)) == [{"params": "b"}, None, {"params": "a"}]
    assert store.get_many([], ("params",)) == []


def test_update_sets_fields(store: JobStore) -> None:
    (job_id,) = queued(store, spec())
    store.update(job_id, {"progress": "0.5", "meta": "{}"})
    assert store.get(job_id, ("progress", "meta", "status")) == {"progress": "0.5", "meta": "{}",
                                                                  "status": "queued"}


def test_delete_removes_records_and_logs_and_counts_them(store: JobStore) -> None:
    a, b = queued(store, spec(), spec())
    store.append_log(a, ["x"])
    assert store.delete([a, b, new_id()]) == 2
    assert store.get(a) is None and store.get(b) is None
    assert store.log_lines(a) == []
    assert store.delete([a]) == 0


def test_logs_append_in_order(store: JobStore) -> None:
    (job_id,) = queued(store, spec())
    assert store.log_lines(job_id) == []
    store.append_log(job_id, ["one", "two"])
    store.append_log(job_id, [])
    store.append_log(job_id, ["three"])
    assert store.log_lines(job_id) == ["one", "two", "three"]


def test_iter_ids_lists_every_record(store: JobStore) -> None:
    ids = queued(store, spec(), spec(due=time.time() + 60))
    (done,) = started(store, "w", spec(queue="other"))
    store.finish("w", [finish(done, "success", result="1")])
    assert set(store.iter_ids()) == set(ids) | {done}


def test_clear_deletes_everything_under_the_prefix(store: JobStore, store_url: str) -> None:
    import uuid

    from mrqcore.store import open_store
    from mrqcore.store.base import HOLD_DUE
    queued(store, spec(), spec(due=HOLD_DUE), spec(due=time.time() + 60))
    (job_id,) = started(store, "w", spec(queue="other"))
    store.append_log(job_id, ["x"])
    store.heartbeat("w", {"status": "running"}, 60, time.time())
    store.pause_queue("q")
    store.raw_push("items_raw", "list", ["a"])
    store.set_value("v", "1")
    store.barrier_add("b", 0, "x", 2, 0)
    assert store.try_lock("lock", "me", 60)
    store.finish("w", [finish(job_id, "interrupt")])
    neighbour = open_store(store_url, f"test-{uuid.uuid4().hex[:10]}:")
    try:
        queued(neighbour, spec())
        store.clear()
        assert list(store.iter_ids()) == [] and store.queue_size("q") == 0 and store.known_queues() == []
        assert list(store.scheduled_ids()) == [] and store.paused_queues() == set()
        assert store.worker_heartbeats() == {} and store.inflight("w") == [] and store.pop_interrupted(10) == []
        assert store.raw_size("items_raw", "list") == 0 and store.get_value("v") is None
        assert store.barrier_add("b", 1, "y", 2, 0) is None and store.try_lock("lock", "you", 60)
        assert store.log_lines(job_id) == []
        assert neighbour.queue_size("q") == 1  # another prefix is untouched
    finally:
        neighbour.clear()
        neighbour.close()


def test_ping_answers(store: JobStore) -> None:
    store.ping()


# --- cancel ----------------------------------------------------------------------------

def test_cancel_a_queued_job_takes_it_off_its_queue(store: JobStore) -> None:
    job_id, other = queued(store, spec(), spec())
    with store.done_waiter(job_id) as waiter:
        assert store.cancel(job_id, time.time(), 0) == "queued"
        assert waiter.wait(5.0) and waiter.message == "cancel"
    assert status_of(store, job_id) == "cancel"
    assert "datedone" in (store.get(job_id) or {})
    assert store.queue_size("q") == 1
    assert [job_id for job_id, _ in store.dequeue("w", ["q"], 5, time.time())] == [other]


def test_cancel_a_waiting_job_takes_it_out_of_the_scheduled_set(store: JobStore) -> None:
    job = spec(due=time.time() + 1)
    queued(store, job)
    assert store.cancel(job.id, time.time(), 0) == "queued"
    assert job.id not in set(store.scheduled_ids())
    assert store.promote_due(time.time() + 5)[0] == 0


def test_cancel_a_started_job_only_marks_it(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    assert store.cancel(job_id, time.time(), 0) == "started"
    record = store.get(job_id) or {}
    assert record["status"] == "started" and "cancel_requested" in record
    assert store.inflight("w") == [job_id]


def test_cancel_with_ttl_expires_the_record(store: JobStore) -> None:
    (job_id,) = queued(store, spec())
    assert store.cancel(job_id, time.time(), 1) == "queued"
    wait_for(lambda: store.get(job_id) is None, timeout=10, message="the cancelled record to expire")


def test_cancel_unknown_or_finished(store: JobStore) -> None:
    assert store.cancel(new_id(), time.time(), 0) is None
    (job_id,) = started(store, "w", spec())
    store.finish("w", [finish(job_id, "success", result="1")])
    assert store.cancel(job_id, time.time(), 0) == "success"
    assert status_of(store, job_id) == "success"


# --- requeue ---------------------------------------------------------------------------

def test_requeue_a_finished_job_keeps_its_history(store: JobStore) -> None:
    import json
    (job_id,) = started(store, "w", spec())
    store.finish("w", [finish(job_id, "failed", ttl=3600, traceback="tb")])
    store.update(job_id, {"datedone": repr(time.time())})
    with store.notify_waiter() as waiter:
        assert store.requeue(job_id, time.time(), note="by hand") == "failed"
        assert waiter.wait(5.0)
    record = store.get(job_id) or {}
    assert record["status"] == "queued" and "datedone" not in record and record["traceback"] == "tb"
    history = json.loads(record["requeue_history"])
    assert [(h["from_status"], h["note"]) for h in history] == [("failed", "by hand")]
    assert [j for j, _ in store.dequeue("w", ["q"], 5, time.time())] == [job_id]
    store.finish("w", [finish(job_id, "failed")])
    store.requeue(job_id, time.time(), note='second "quoted"')
    history = json.loads((store.get(job_id) or {})["requeue_history"])
    assert [h["note"] for h in history] == ["by hand", 'second "quoted"']


def test_requeue_clears_the_ttl(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    store.finish("w", [finish(job_id, "failed", ttl=1, log=["l"])])
    assert store.requeue(job_id, time.time()) == "failed"
    assert "requeue_history" not in (store.get(job_id) or {})  # no note, no history
    # The TTL is gone: the record outlives it (checked on the sentinel's expiry).
    (sentinel,) = started(store, "w", spec(queue="other"))
    store.finish("w", [finish(sentinel, "failed", ttl=1)])
    wait_for(lambda: store.get(sentinel) is None, timeout=10, message="the sentinel to expire")
    assert status_of(store, job_id) == "queued" and store.log_lines(job_id) == ["l"]


def test_requeue_to_another_queue(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    store.finish("w", [finish(job_id, "failed")])
    assert store.requeue(job_id, time.time(), queue="elsewhere") == "failed"
    assert store.get(job_id, ("queue",)) == {"queue": "elsewhere"}
    assert store.queue_size("elsewhere") == 1 and "elsewhere" in store.known_queues()


def test_requeue_of_a_queued_or_unknown_job_returns_none(store: JobStore) -> None:
    (job_id,) = queued(store, spec())
    assert store.requeue(job_id, time.time()) is None
    assert store.queue_size("q") == 1
    assert store.requeue(new_id(), time.time()) is None


def test_requeue_a_started_job_only_with_force(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    assert store.requeue(job_id, time.time()) is None
    assert store.requeue(job_id, time.time(), force=True, note="lost") == "started"
    assert store.inflight("w") == []
    assert status_of(store, job_id) == "queued" and store.queue_size("q") == 1


def test_requeue_a_waiting_retry_leaves_the_scheduled_set(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    store.finish("w", [finish(job_id, "retry", due=time.time() + 3600)])
    assert store.requeue(job_id, time.time()) == "retry"
    assert job_id not in set(store.scheduled_ids())
    assert store.queue_size("q") == 1


# --- waiters ---------------------------------------------------------------------------

def test_waiters_time_out_without_a_message(store: JobStore) -> None:
    with store.done_waiter(new_id()) as waiter:
        assert waiter.wait(0.05) is False
    with store.notify_waiter() as waiter:
        assert waiter.wait(0.05) is False


def test_a_waiter_in_another_thread_wakes_on_finish(store: JobStore) -> None:
    (job_id,) = started(store, "w", spec())
    woke: list[bool] = []
    ready = threading.Event()

    def wait() -> None:
        with store.done_waiter(job_id) as waiter:
            ready.set()
            woke.append(wait_for(lambda: waiter.wait(1.0), timeout=20, message="a done notice"))

    thread = threading.Thread(target=wait)
    thread.start()
    assert ready.wait(10)
    store.finish("w", [finish(job_id, "success", result="7")])
    thread.join(30)
    assert woke == [True]
