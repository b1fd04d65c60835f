"""What only the memory store has: its URL, its clock, and waiting inside a gevent hub of a thread."""
from __future__ import annotations

import threading
import time

import pytest

from mrqcore.exceptions import ConfigError
from mrqcore.store.base import JobSpec
from mrqcore.store.memory import MemoryJobStore


class Clock:
    """A clock the test moves by hand (the store reads it for TTLs and rate-limit windows)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_memory_url_gives_a_new_store_and_a_named_one_is_shared() -> None:
    assert MemoryJobStore.for_url("memory://", "p:") is not MemoryJobStore.for_url("memory://", "p:")
    shared = MemoryJobStore.for_url("memory://test-shared", "p:")
    assert MemoryJobStore.for_url("memory://test-shared", "p:") is shared
    assert MemoryJobStore.for_url("memory://test-shared", "other:") is not shared
    assert MemoryJobStore.for_url("memory://test-other", "p:") is not shared
    assert shared.prefix == "p:" and shared.client is None
    assert MemoryJobStore.connection_errors == () and MemoryJobStore.backend_errors == ()


def test_a_non_memory_url_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="redis://x.*not a memory:// URL"):
        MemoryJobStore.for_url("redis://x", "p:")


def test_ttls_follow_the_clock() -> None:
    clock = Clock()
    store = MemoryJobStore(clock=clock)
    store.set_value("v", "1", ttl=10)
    assert store.try_lock("lock", "me", 10)
    store.heartbeat("w", {"status": "running"}, 20, clock.now)
    clock.now += 9.9
    assert store.get_value("v") == "1" and not store.try_lock("lock", "you", 5)
    clock.now += 0.2
    assert store.get_value("v") is None and store.try_lock("lock", "you", 5)
    assert store.worker_reports(["w"]) == [({"status": "running"}, 0)]
    clock.now += 10
    assert store.worker_reports(["w"]) == [({}, 0)]


def test_ratelimit_windows_follow_the_clock() -> None:
    clock = Clock()
    store = MemoryJobStore(clock=clock)
    assert [store.ratelimit("k", 2, 10) for _ in range(3)] == [2, 1, 0]
    clock.now += 10
    assert store.ratelimit("k", 2, 10) == 2


def test_expired_records_vanish_from_every_view() -> None:
    clock = Clock()
    store = MemoryJobStore(clock=clock)
    store.enqueue([JobSpec("a", "q", {"path": "t"})], clock.now)
    ((job_id, _),) = store.dequeue("w", ["q"], 1, clock.now)
    from mrqcore.store.base import Finish
    store.finish("w", [Finish(job_id, "success", {"status": "success"}, ttl=5, log_lines=["x"])])
    assert list(store.iter_ids()) == ["a"]
    clock.now += 6
    assert list(store.iter_ids()) == [] and store.log_lines("a") == []
    assert store.enqueue([JobSpec("a", "q", {"path": "t"})], clock.now) == []


def test_waiting_inside_a_gevent_hub_of_an_unpatched_thread_lets_other_greenlets_run() -> None:
    """A gevent worker in a test thread: a greenlet blocked on a waiter must not stall its hub."""
    store = MemoryJobStore()
    outcome: dict[str, object] = {}

    def in_thread() -> None:
        import gevent
        with store.notify_waiter() as waiter:
            def publisher() -> None:
                outcome["publisher ran"] = True
                store.enqueue([JobSpec("a", "q", {"path": "t"})], time.time())

            gevent.spawn(publisher)  # runs only if the waiting greenlet yields to the hub
            outcome["woke"] = waiter.wait(5.0)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(30)
    assert outcome == {"publisher ran": True, "woke": True}
