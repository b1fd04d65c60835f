"""The raw-queue tests (tests/test_raw_queues.py) again, with the runtime and workers on a Redis Cluster.

The tests are imported unchanged; ``config_values`` is overridden so the
runtime, the app and every ``mrqc worker`` subprocess use the session's
3-master cluster (``redis+cluster://``). Each raw queue and the queue its
jobs run on (``items``, ``pb``...) is a namespace of its own slot, so popped
items, their jobs and their recovery cross shards.

Two tests read raw-queue internals by key name (a worker's raw-inflight hash,
the raw-workers set). On the cluster those keys exist once per queue
namespace, so they are restated below with the raw queue's own names
(``store.space(queue).keys``); every assertion is the original's.
"""
from __future__ import annotations

import signal
import time
from typing import Any, Iterator

import pytest

from tests.test_raw_queues import *  # noqa: F401,F403 - the tests and their raw_config fixture
from tests.redis_server import shared_cluster  # noqa: F401 - fixture


@pytest.fixture
def config_values(shared_cluster: Any, prefix: str) -> dict[str, Any]:  # noqa: F811
    """tests/conftest.py's settings, with the store on the session's cluster."""
    return {"redis": shared_cluster.url(), "redis_prefix": prefix, "poll_interval": 0.2,
            "heartbeat_interval": 0.5}

@pytest.fixture(autouse=True)
def _cluster_cleanup(runtime: Any) -> Iterator[None]:
    """The prefix fixture cleans the test Redis only: delete this test's keys from the cluster."""
    from mrqcore.store.redis_cluster import ClusterJobStore
    assert isinstance(runtime.store, ClusterJobStore)
    yield
    runtime.store.clear()


# --- restated with the raw queue namespace's key names ----------------------------------


def test_sigkill_between_pop_and_completion_loses_nothing(config_values, runtime, start_worker):
    """Worker A is killed holding 2 started raw jobs and 2 popped items not yet jobs.

    Worker B's services (lost-job recovery, raw item recovery) put everything back
    with no manual step; every item becomes exactly one job that succeeds.
    """
    config_values.update(worker_lost_after=1.5, raw_queues={
        "k_raw": {"job_factory": "tests.tasks.depth_a.gated_factory", "retry_queue": "k"}})
    redis = runtime.store.client
    items = [f"i{n}" for n in range(10)]
    redis.set(k(runtime, "hold"), "1")
    redis.set(k(runtime, "block-on"), "i2")
    queue_raw_jobs("k_raw", items)
    a = start_worker("k_raw", "k", "--greenlets", "4", env={"MRQC_DEQUEUE_BATCH": "2"})
    # A runs i0, i1 (held) and blocks in the factory on i2 with i2, i3 popped.
    wait_for(lambda: redis.lrange(k(runtime, "factory-entered"), 0, -1) == ["i2"], message="factory blocked")
    wait_for(lambda: sorted(redis.lrange(k(runtime, "started"), 0, -1)) == ["i0", "i1"], message="i0, i1 started")
    popped = redis.hvals(runtime.store.space("k_raw").keys.raw_inflight(_worker_id(runtime, "k_raw")))
    assert len(popped) == 2 and raw_queue_for("k_raw").size() == 6
    a.signal(signal.SIGKILL)
    a.wait(10)
    redis.delete(k(runtime, "hold"))
    start_worker("k_raw", "k", "--greenlets", "4")
    wait_for(lambda: len(set(done(runtime))) == 10, timeout=40, message="all 10 items done")
    wait_for(lambda: redis.scard(runtime.store.space("k_raw").keys.raw_workers) == 0, message="raw-inflight cleaned")
    assert sorted(done(runtime)) == sorted(items)  # each exactly once
    recs = records(runtime)
    assert sorted(r["raw_param"] for r in recs) == sorted(items)
    assert {r["status"] for r in recs} == {"success"}
    requeued = [r["raw_param"] for r in recs if r.get("requeue_history")]
    assert sorted(requeued) == ["i0", "i1"]  # the two started jobs went through lost-job recovery


def test_requeue_lost_raw_items_direct(raw_config, runtime):
    """Items popped by a worker that never heartbeats go back with their scores, once."""
    now = time.time()
    queue_raw_jobs("items_raw", ["a", "b", "c"])
    queue_raw_jobs("items_sorted_set", {"s1": 1, "s2": 2})
    queue_raw_jobs("items_set", ["m"])
    raw_queue_for("items_raw").pop("ghost", 2, now)
    raw_queue_for("items_sorted_set").pop("ghost", 2, now)
    raw_queue_for("items_set").pop("ghost", 1, now)
    assert raw_queue_for("items_raw").items() == ["c"]
    runtime.store.client.zadd(runtime.keys.workers, {"alive": now})
    raw_queue_for("items_raw").pop("alive", 1, now)
    assert requeue_lost_raw_items(now=now) == 5
    assert raw_queue_for("items_raw").items() == ["a", "b"]  # alive's "c" stays with it
    assert runtime.store.client.zrange(raw_queue_for("items_sorted_set").key, 0, -1, withscores=True) == [
        ("s1", 1.0), ("s2", 2.0)]
    assert raw_queue_for("items_set").size() == 1
    assert requeue_lost_raw_items(now=now) == 0
    assert runtime.store.client.hlen(runtime.store.space("items_raw").keys.raw_inflight("alive")) == 1


def _worker_id(runtime: Any, queue: str) -> str:
    ids = runtime.store.client.smembers(runtime.store.space(queue).keys.raw_workers)
    assert len(ids) == 1, ids
    return next(iter(ids))
