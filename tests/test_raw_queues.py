"""Raw queues: each kind's enqueue, serving order and conversion into jobs, and no item lost on SIGKILL."""
from __future__ import annotations

import signal
import time

import pytest

from mrqcore.exceptions import ConfigError, SerializationError
from mrqcore.job import queue_raw_jobs
from mrqcore.raw import (RawListQueue, RawSetQueue, RawSortedSetQueue, RawTimedSetQueue, is_raw_queue,
                         raw_queue_for, requeue_lost_raw_items)
from tests.conftest import wait_for

FACTORY = "tests.tasks.depth_a.item_to_job"


def k(runtime, name: str) -> str:
    return runtime.config.redis_prefix + "test:" + name


def done(runtime) -> list[str]:
    return runtime.store.client.lrange(k(runtime, "done"), 0, -1)


def records(runtime) -> list[dict]:
    out = []
    for job_id in runtime.store.iter_ids():
        record = runtime.store.get(job_id)
        if record:
            out.append(dict(record, id=job_id))
    return out


@pytest.fixture
def raw_config(config_values):
    config_values["raw_queues"] = {
        "items_raw": {"job_factory": FACTORY, "retry_queue": "items"},
        "items_set": {"job_factory": FACTORY},
        "items_sorted_set": {"job_factory": FACTORY},
        "items_timed_set": {"job_factory": FACTORY},
        "pb_timed_set": {"job_factory": FACTORY, "pushback_seconds": 600, "retry_queue": "pb"},
        "quiet_raw": {"job_factory": FACTORY, "statuses_no_storage": ["success"]},
        "bad_raw": {"job_factory": "tests.tasks.depth_a.failing_item_to_job"},
    }
    return config_values


# --- the one place names become queues --------------------------------------------------


def test_suffix_picks_the_class(raw_config, runtime):
    assert type(raw_queue_for("a_raw")) is RawListQueue
    assert type(raw_queue_for("a_set")) is RawSetQueue
    assert type(raw_queue_for("a_sorted_set")) is RawSortedSetQueue
    assert type(raw_queue_for("a_timed_set")) is RawTimedSetQueue
    assert not is_raw_queue("default") and not is_raw_queue("_raw")
    with pytest.raises(ValueError, match="not a raw queue name"):
        raw_queue_for("plain")


def test_bad_settings_and_items_are_named(config_values, runtime):
    config_values["raw_queues"] = {"x_raw": {"job_factroy": FACTORY}, "y_raw": {"pushback_seconds": 5}}
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime
    rt = Runtime(Config(config_values))
    with pytest.raises(ConfigError, match="did you mean 'job_factory'"):
        raw_queue_for("x_raw", rt)
    with pytest.raises(ConfigError, match="pushback_seconds only applies to _timed_set"):
        raw_queue_for("y_raw", rt)
    with pytest.raises(SerializationError, match=r"params_list\[1\]"):
        queue_raw_jobs("z_raw", ["ok", {"not": "a str"}])
    with pytest.raises(SerializationError, match="pairs"):
        queue_raw_jobs("z_sorted_set", ["no score"])
    assert raw_queue_for("z_raw").size() == 0  # nothing written when one item is bad


# --- each kind: enqueue, order, conversion -------------------------------------------------


def test_list_queue_fifo_into_jobs(raw_config, runtime, run_burst):
    queue_raw_jobs("items_raw", ["a", "b", "c"])
    queue_raw_jobs("items_raw", ["d"])
    queue = raw_queue_for("items_raw")
    assert queue.size() == 4 and queue.items() == ["a", "b", "c", "d"]
    run_burst("items_raw", "--greenlets", "1")
    assert done(runtime) == ["a", "b", "c", "d"]
    assert queue.size() == 0
    recs = records(runtime)
    assert sorted(r["raw_param"] for r in recs) == ["a", "b", "c", "d"]
    assert {(r["status"], r["queue"], r["raw_queue"], r["path"]) for r in recs} == {
        ("success", "items", "items_raw", "tests.tasks.depth_a.RecordItem")}


def test_set_queue_holds_each_item_once(raw_config, runtime, run_burst):
    queue_raw_jobs("items_set", ["x", "y", "x", "z", "y"])
    assert raw_queue_for("items_set").size() == 3
    run_burst("items_set", "--greenlets", "2")
    assert sorted(done(runtime)) == ["x", "y", "z"]
    recs = records(runtime)
    assert len(recs) == 3 and {r["status"] for r in recs} == {"success"}
    assert {r["queue"] for r in recs} == {"default"}  # no retry_queue: default_queue


def test_sorted_set_lowest_score_first(raw_config, runtime, run_burst):
    queue_raw_jobs("items_sorted_set", {"c": 30, "a": 10})
    queue_raw_jobs("items_sorted_set", [("b", 20), ("z", -5)])
    queue = raw_queue_for("items_sorted_set")
    assert queue.items() == ["z", "a", "b", "c"]
    run_burst("items_sorted_set", "--greenlets", "1")
    assert done(runtime) == ["z", "a", "b", "c"]
    assert queue.size() == 0
    recs = records(runtime)
    assert sorted(r["raw_param"] for r in recs) == ["a", "b", "c", "z"]
    assert {(r["status"], r["raw_queue"]) for r in recs} == {("success", "items_sorted_set")}


def test_timed_set_serves_due_items_only(raw_config, runtime, run_burst):
    now = time.time()
    queue_raw_jobs("items_timed_set", {"later": now + 3600, "old": now - 20, "older": now - 30})
    queue_raw_jobs("items_timed_set", ["bare"])  # a bare item is due now (MRQ)
    queue = raw_queue_for("items_timed_set")
    assert queue.size() == 4 and queue.due_count() == 3
    run_burst("items_timed_set", "--greenlets", "1")
    assert done(runtime) == ["older", "old", "bare"]
    assert queue.items() == ["later"] and queue.due_count() == 0
    recs = records(runtime)
    assert sorted(r["raw_param"] for r in recs) == ["bare", "old", "older"]
    assert {(r["status"], r["raw_queue"]) for r in recs} == {("success", "items_timed_set")}


def test_timed_set_pushback_keeps_item_until_success(raw_config, runtime, run_burst):
    queue_raw_jobs("pb_timed_set", {"ok": time.time() - 1, "fail1": time.time() - 1})
    queue = raw_queue_for("pb_timed_set")
    run_burst("pb_timed_set", "--greenlets", "2")
    assert sorted(done(runtime)) == ["fail1", "ok"]
    # success removed its item; the failed job's item is still there, pushed back by ~600 s
    assert queue.items() == ["fail1"]
    assert runtime.store.client.zscore(queue.key, "fail1") > time.time() + 500
    statuses = {r["raw_param"]: r["status"] for r in records(runtime)}
    assert statuses == {"ok": "success", "fail1": "failed"}


def test_statuses_no_storage_deletes_the_record(raw_config, runtime, run_burst):
    queue_raw_jobs("quiet_raw", ["q1", "q2", "fail-q3"])
    run_burst("quiet_raw", "--greenlets", "3")
    assert sorted(done(runtime)) == ["fail-q3", "q1", "q2"]
    recs = records(runtime)
    assert [(r["raw_param"], r["status"]) for r in recs] == [("fail-q3", "failed")]


def test_failing_job_factory_leaves_a_failed_record(raw_config, runtime, run_burst):
    queue_raw_jobs("bad_raw", ["good", "bad-1"])
    run_burst("bad_raw", "--greenlets", "2")
    assert done(runtime) == ["good"]
    by_item = {r["raw_param"]: r for r in records(runtime)}
    assert by_item["good"]["status"] == "success"
    assert by_item["bad-1"]["status"] == "failed"
    assert by_item["bad-1"]["exceptiontype"] == "ValueError"
    assert "cannot make a job of 'bad-1'" in by_item["bad-1"]["traceback"]
    assert raw_queue_for("bad_raw").size() == 0


def test_paused_raw_queue_is_not_served(raw_config, runtime, run_burst):
    from mrqcore.queues import pause_queue, queue_size, resume_queue
    queue_raw_jobs("items_raw", ["a"])
    pause_queue("items_raw")
    run_burst("items_raw")
    assert done(runtime) == [] and queue_size("items_raw") == 1
    resume_queue("items_raw")
    run_burst("items_raw")
    assert done(runtime) == ["a"]


# --- never losing an item ------------------------------------------------------------------


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
    popped = redis.hvals(runtime.keys.raw_inflight(_worker_id(runtime)))
    assert len(popped) == 2 and raw_queue_for("k_raw").size() == 6
    a.signal(signal.SIGKILL)
    a.wait(10)
    redis.delete(k(runtime, "hold"))
    start_worker("k_raw", "k", "--greenlets", "4")
    wait_for(lambda: len(set(done(runtime))) == 10, timeout=40, message="all 10 items done")
    wait_for(lambda: redis.scard(runtime.keys.raw_workers) == 0, message="raw-inflight cleaned")
    assert sorted(done(runtime)) == sorted(items)  # each exactly once
    recs = records(runtime)
    assert sorted(r["raw_param"] for r in recs) == sorted(items)
    assert {r["status"] for r in recs} == {"success"}
    requeued = [r["raw_param"] for r in recs if r.get("requeue_history")]
    assert sorted(requeued) == ["i0", "i1"]  # the two started jobs went through lost-job recovery


def test_pushback_item_comes_back_after_sigkill(config_values, runtime, start_worker):
    config_values.update(raw_queues={"pk_timed_set": {
        "job_factory": "tests.tasks.depth_a.gated_factory", "pushback_seconds": 2, "retry_queue": "pk"}})
    redis = runtime.store.client
    redis.set(k(runtime, "hold"), "1")
    queue_raw_jobs("pk_timed_set", ["p1"])
    a = start_worker("pk_timed_set")
    wait_for(lambda: redis.lrange(k(runtime, "started"), 0, -1) == ["p1"], message="p1 started")
    a.signal(signal.SIGKILL)
    a.wait(10)
    redis.delete(k(runtime, "hold"))
    assert raw_queue_for("pk_timed_set").items() == ["p1"]  # still there, pushed back
    start_worker("pk_timed_set")  # does not serve 'pk': the item itself comes back
    wait_for(lambda: done(runtime) == ["p1"], timeout=30, message="p1 done")
    wait_for(lambda: raw_queue_for("pk_timed_set").size() == 0, message="p1 removed on success")


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
    assert runtime.store.client.hlen(runtime.keys.raw_inflight("alive")) == 1


def _worker_id(runtime) -> str:
    ids = runtime.store.client.smembers(runtime.keys.raw_workers)
    assert len(ids) == 1, ids
    return next(iter(ids))
