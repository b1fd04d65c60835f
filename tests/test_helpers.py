"""ratelimit (counted across processes) and metric (the hook, and what the worker emits)."""
from __future__ import annotations

import multiprocessing
import time

import pytest

from mrqcore.helpers import metric, ratelimit
from mrqcore.job import queue_jobs
from mrqcore.raw import queue_raw_jobs
from tests.conftest import wait_for


def _calls_in_process(redis_url: str, prefix: str, calls: int, start, results) -> None:
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime, set_runtime
    set_runtime(Runtime(Config({"redis": redis_url, "redis_prefix": prefix})))
    start.wait(30)  # all processes call at the same time
    results.put(sum(1 for _ in range(calls) if ratelimit("k", 50, per=3600) > 0))


def _away_from_window_edge(runtime, per: int) -> None:
    """Fixed windows: make sure the counted calls cannot straddle two windows."""
    seconds, micros = runtime.store.client.time()
    left = per - (seconds + micros / 1e6) % per
    if left < 30:
        time.sleep(left + 0.1)


def test_ratelimit_holds_across_processes(runtime, redis_url, prefix):
    _away_from_window_edge(runtime, 3600)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_calls_in_process, args=(redis_url, prefix, 40, start, results))
             for _ in range(4)]
    for proc in procs:
        proc.start()
    start.set()
    allowed = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(10)
        assert proc.exitcode == 0
    assert sum(allowed) == 50, allowed  # 160 calls, exactly 50 allowed
    assert ratelimit("k", 50, per=3600) == 0


def test_ratelimit_counts_down_then_zero(runtime):
    _away_from_window_edge(runtime, 3600)
    answers = [ratelimit("api", 3, per=3600) for _ in range(5)]
    assert answers == [3, 2, 1, 0, 0]
    assert ratelimit("other-key", 3, per=3600) == 3  # keys are independent
    keys = list(runtime.store.client.scan_iter(match=runtime.config.redis_prefix + "ratelimit:api:*"))
    assert len(keys) == 1 and 0 < runtime.store.client.ttl(keys[0]) <= 3601


def test_ratelimit_with_explicit_client_and_bad_args(runtime):
    import redis as redis_lib
    client = redis_lib.Redis.from_url(runtime.config.redis, decode_responses=True)
    _away_from_window_edge(runtime, 3600)
    assert ratelimit("explicit", 2, per=3600, redis=client) == 2
    assert ratelimit("explicit", 2, per=3600) == 1  # same key, same prefix, other client
    with pytest.raises(ValueError, match="per must be"):
        ratelimit("x", 1, per=0)
    with pytest.raises(ValueError, match="limit must be"):
        ratelimit("x", -1)
    with pytest.raises(ValueError, match="limit must be an int >= 0, got 2.5"):
        ratelimit("x", 2.5)
    assert ratelimit("explicit", 3.0, per=3600) == 1  # an integral float is fine


def test_ratelimit_window_moves_on(runtime):
    first = ratelimit("short", 1, per=0.5)
    assert first == 1
    # A later window allows again (waited for on Redis's clock, with a deadline).
    wait_for(lambda: ratelimit("short", 1, per=0.5) == 1, timeout=5, message="next window")


# --- metric -------------------------------------------------------------------------------


def test_metric_calls_the_hook(config_values, runtime):
    seen = []
    runtime.metric_hook = lambda name, incr, **kw: seen.append((name, incr, kw))
    metric("pages", 3, site="example.com")
    metric("pages")
    assert seen == [("pages", 3, {"site": "example.com"}), ("pages", 1, {})]
    runtime.metric_hook = None
    metric("nothing")  # no hook: a no-op


def test_worker_emits_enqueue_dequeue_and_status_metrics(config_values, runtime, start_worker):
    config_values["metric_hook"] = "tests.tasks.depth_a.record_metric"
    config_values["raw_queues"] = {"m_raw": {"job_factory": "tests.tasks.depth_a.item_to_job",
                                             "retry_queue": "m"}}
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime, set_runtime
    rt = Runtime(Config(config_values))
    set_runtime(rt)
    queue_jobs("tests.tasks.depth_a.RecordItem", [{"item": "a"}, {"item": "fail-b"}], queue="m")
    queue_raw_jobs("m_raw", ["r1"])
    start_worker("m_raw", "m", "--greenlets", "3")
    key = config_values["redis_prefix"] + "test:metrics"
    # Wait for every end to be reported (a burst worker's exit could race its writer greenlet).
    wait_for(lambda: len([x for x in rt.store.client.lrange(key, 0, -1) if x.startswith("jobs.status.")]) == 3,
             message="three status metrics")
    lines = rt.store.client.lrange(key, 0, -1)
    assert "queue_jobs|2|m" in lines and "queue_raw_jobs|1|m_raw" in lines
    assert "jobs.dequeued|1|m_raw" in lines and "jobs.dequeued|2|m" in lines
    assert lines.count("jobs.status.success|1|None") == 2
    assert lines.count("jobs.status.failed|1|None") == 1, lines


def test_report_queue_sizes_sends_gauges(config_values, runtime):
    from mrqcore.queues import report_queue_sizes
    config_values["raw_queues"] = {}
    queue_jobs("tests.tasks.depth_a.RecordItem", [{"item": "a"}, {"item": "b"}], queue="g")
    queue_raw_jobs("g_set", ["x", "y", "z"])
    seen = []
    runtime.metric_hook = lambda name, value, **kw: seen.append((name, value, kw))
    assert report_queue_sizes() == {"g": 2, "g_set": 3}
    assert seen == [("queues.size", 2, {"queue": "g"}), ("queues.size", 3, {"queue": "g_set"})]
