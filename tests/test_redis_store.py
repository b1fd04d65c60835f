"""RedisJobStore methods that mrqcore's own flows reach only in corner cases (the store
contract suite, ``tests/store/``, covers every store; these pin the Redis one on its own)."""
from __future__ import annotations

import time
from typing import Any

from mrqcore.store.base import JobSpec


def _spec(job_id: str, queue: str = "q", due: float = 0.0) -> JobSpec:
    return JobSpec(job_id, queue, {"path": "tests.tasks.basic.Add", "params": "{}"}, due)


def test_records_get_many_delete_purge(runtime: Any) -> None:
    store = runtime.store
    store.enqueue([_spec("a"), _spec("b"), _spec("c")], time.time())
    assert store.get_many(["a", "nope", "b"], ["queue", "missing"]) == [{"queue": "q"}, None, {"queue": "q"}]
    assert store.get_many(["a"], ["missing"]) == [{}]  # a record with none of the fields is not "no record"
    store.append_log("a", ["line"])
    assert store.delete(["a", "nope"]) == 1
    assert store.get("a") is None and store.log_lines("a") == []
    assert store.purge_queue("q") == 3 and store.queue_size("q") == 0  # "a" was queued too: ids, not records


def test_worker_registry(runtime: Any) -> None:
    store = runtime.store
    now = time.time()
    store.heartbeat("w1", {"status": "running"}, ttl=60, now=now - 100)
    store.touch_worker("w2", now)
    assert store.worker_heartbeats() == {"w1": now - 100, "w2": now}
    assert store.worker_heartbeats(before=now - 50) == {"w1": now - 100}
    store.enqueue([_spec("j1")], now)
    assert [job_id for job_id, _ in store.dequeue("w1", ["q"], 5, now)] == ["j1"]
    assert store.worker_reports(["w1", "w3"]) == [({"status": "running"}, 1), ({}, 0)]
    assert store.drop_inflight("w1", ["j1", "other"]) == 1 and store.inflight("w1") == []
    store.unregister_worker("w1")
    assert store.worker_heartbeats() == {"w2": now} and store.worker_reports(["w1"]) == [({}, 0)]


def test_orphan_holders(runtime: Any) -> None:
    store = runtime.store
    now = time.time()
    store.enqueue([_spec("j1"), _spec("j2")], now)
    store.dequeue("ghost", ["q"], 1, now - 100)
    store.dequeue("alive", ["q"], 1, now - 100)
    store.touch_worker("alive", now)
    assert store.orphan_holders(idle_before=now - 50) == ["ghost"]
    assert store.orphan_holders(idle_before=now - 200) == []


def test_locks_only_release_for_their_token(runtime: Any) -> None:
    store = runtime.store
    assert store.try_lock("x", "t1", 30) and not store.try_lock("x", "t2", 30)
    store.unlock("x", "t2")  # not the holder: nothing happens, nothing raises
    assert not store.try_lock("x", "t2", 30)
    store.unlock("x", "t1")
    assert store.try_lock("x", "t2", 30)


def test_drop_scheduled_without_record(runtime: Any) -> None:
    store = runtime.store
    now = time.time()
    store.enqueue([_spec("kept", due=now + 3600), _spec("gone", due=now + 3600)], now)
    store.delete(["gone"])
    assert sorted(store.scheduled_ids()) == ["gone", "kept"]
    assert store.drop_scheduled_without_record(["gone", "kept"]) == 1
    assert list(store.scheduled_ids()) == ["kept"]


def test_claim_schedule_once_per_due_time(runtime: Any) -> None:
    store = runtime.store
    now = time.time()
    assert store.claim_schedule("e", 100.0, 60, [_spec("run1")], now, queue_first=False) == (True, None)
    assert store.get("run1") is None  # first sight without catch-up: marker only
    assert store.claim_schedule("e", 100.0, 60, [_spec("run1")], now, queue_first=True) == (False, 100.0)
    assert store.claim_schedule("e", 200.0, 60, [_spec("run2")], now, queue_first=False) == (True, 100.0)
    assert store.get("run2", ["status"]) == {"status": "queued"}


def test_raw_kinds(runtime: Any) -> None:
    store = runtime.store
    now = time.time()
    store.raw_push("l_raw", "list", ["a", "b", "c"])
    store.raw_push("t_timed_set", "timed", [("due", now - 1), ("later", now + 3600)])
    assert store.raw_items("l_raw", "list", skip=1, limit=5) == ["b", "c"]
    assert store.raw_size("t_timed_set", "timed") == 2
    assert store.raw_size("t_timed_set", "timed", due_before=now) == 1
    store.raw_remove("l_raw", "list", ["b"])
    assert store.raw_items("l_raw", "list") == ["a", "c"]
    assert {"l_raw", "t_timed_set"} <= set(store.known_queues())
    store.raw_empty("l_raw")
    assert store.raw_size("l_raw", "list") == 0
