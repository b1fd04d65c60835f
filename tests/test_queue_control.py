"""Subqueues, pause/resume and per-task max_concurrency, through real workers."""
from __future__ import annotations

import pytest

import signal

from mrqcore.job import Job, queue_job, queue_jobs
from mrqcore.queues import (expand_queues, pause_queue, paused_queues, queue_size, queue_sizes,
                            resume_queue)
from tests.conftest import wait_for

RECORD = "tests.tasks.depth_a.RecordItem"
LIMITED = "tests.tasks.depth_a.Limited"


def k(runtime, name: str) -> str:
    return runtime.config.redis_prefix + "test:" + name


def lst(runtime, name: str) -> list[str]:
    return runtime.store.client.lrange(k(runtime, name), 0, -1)


def status(job_id: str) -> str:
    return Job(job_id).fetch(("status",)).status


# --- subqueues ------------------------------------------------------------------------------


def test_expand_keeps_order_and_dedupes():
    known = {"crawl/b", "crawl/a", "crawl", "other", "crawl/a/deep"}
    assert expand_queues(["high", "crawl/", "other", "crawl/a"], known) == [
        "high", "crawl/a", "crawl/a/deep", "crawl/b", "other"]
    assert expand_queues(["none/"], known) == []


def test_worker_on_root_serves_every_subqueue(runtime, run_burst):
    queue_job(RECORD, {"item": "a1"}, queue="crawl/site-a")
    queue_job(RECORD, {"item": "b1"}, queue="crawl/site-b")
    other = queue_job(RECORD, {"item": "o1"}, queue="crawlers")  # not under "crawl/"
    assert queue_size("crawl/") == 2
    run_burst("crawl/", "--greenlets", "1")
    assert lst(runtime, "done") == ["a1", "b1"]  # subqueues in name order
    assert status(other) == "queued" and queue_sizes() == {"crawl/site-a": 0, "crawl/site-b": 0, "crawlers": 1}


def test_new_subqueue_is_picked_up_while_running(runtime, start_worker):
    queue_job(RECORD, {"item": "first"}, queue="feed/one")
    start_worker("feed/")
    wait_for(lambda: lst(runtime, "done") == ["first"], message="first subqueue served")
    job_id = queue_job(RECORD, {"item": "later"}, queue="feed/two")  # created after the worker started
    wait_for(lambda: status(job_id) == "success", message="new subqueue served")


# --- pause / resume -----------------------------------------------------------------------


def test_pause_and_resume_through_a_worker(runtime, start_worker):
    pause_queue("slow")
    assert paused_queues() == ["slow"]
    held = queue_jobs(RECORD, [{"item": "s1"}, {"item": "s2"}], queue="slow")
    start_worker("slow", "fast")
    # The worker is serving (it runs 'fast' jobs) yet leaves the paused queue alone.
    for n in range(3):
        probe = queue_job(RECORD, {"item": f"f{n}"}, queue="fast")
        wait_for(lambda: status(probe) == "success", message="fast job done")
    assert [status(j) for j in held] == ["queued", "queued"] and queue_size("slow") == 2
    resume_queue("slow")
    assert paused_queues() == []
    wait_for(lambda: [status(j) for j in held] == ["success", "success"], message="resumed queue served")


@pytest.mark.parametrize("listen", ["crawl/", "crawl/x"], ids=["worker-on-root", "worker-on-subqueue-by-name"])
def test_pausing_a_root_pauses_its_subqueues(runtime, start_worker, listen):
    pause_queue("crawl/")
    held = queue_job(RECORD, {"item": "c1"}, queue="crawl/x")
    start_worker(listen, "fast")
    for n in range(3):
        probe = queue_job(RECORD, {"item": f"f{n}"}, queue="fast")
        wait_for(lambda: status(probe) == "success", message="fast job done")
    assert status(held) == "queued"
    resume_queue("crawl/")
    wait_for(lambda: status(held) == "success", message="subqueue served after resume")


# --- max_concurrency ------------------------------------------------------------------------


def test_max_concurrency_holds_across_workers(runtime, start_worker):
    """6 jobs, limit 2 (class attribute), 2 workers x 3 greenlets: never more than 2 at once."""
    ids = queue_jobs(LIMITED, [{"n": str(n)} for n in range(6)], queue="lim")
    start_worker("lim", "--greenlets", "3")
    start_worker("lim", "--greenlets", "3")
    redis = runtime.store.client
    for finished in range(6):
        wait_for(lambda: len(lst(runtime, "started")) >= min(finished + 2, 6), message=f"{finished + 2} started")
        started = sum(1 for j in ids if status(j) == "started")
        assert started <= 2, f"{started} jobs started at once"
        redis.rpush(k(runtime, "tokens"), "go")  # let one job end
        wait_for(lambda: len(lst(runtime, "done")) == finished + 1, message=f"{finished + 1} done")
    wait_for(lambda: all(status(j) == "success" for j in ids), message="all success")
    assert int(redis.get(k(runtime, "peak"))) == 2
    assert sorted(lst(runtime, "done"), key=int) == [str(n) for n in range(6)]
    assert redis.zcard(runtime.keys.running(LIMITED)) == 0


def test_max_concurrency_from_tasks_setting(config_values, runtime, run_burst, start_worker):
    config_values["tasks"] = {RECORD: {"max_concurrency": 1}}
    ids = queue_jobs(RECORD, [{"item": str(n)} for n in range(4)], queue="one")
    run_burst("one", "--greenlets", "4")
    assert all(status(j) == "success" for j in ids)
    assert sorted(lst(runtime, "done")) == ["0", "1", "2", "3"]


def test_max_concurrency_slot_of_a_killed_worker_frees_itself(config_values, runtime, start_worker):
    """Limit 1: a job held by a SIGKILLed worker stops counting once that worker is known dead."""
    config_values.update(worker_lost_after=1.5, tasks={LIMITED: {"max_concurrency": 1}})
    redis = runtime.store.client
    first = queue_job(LIMITED, {"n": "first", "max_wait": 60}, queue="solo")
    a = start_worker("solo")
    wait_for(lambda: lst(runtime, "started") == ["first"], message="first started")
    a.signal(signal.SIGKILL)
    a.wait(10)
    second = queue_job(LIMITED, {"n": "second"}, queue="solo")
    redis.rpush(k(runtime, "tokens"), "go", "go")
    start_worker("solo")
    wait_for(lambda: status(second) == "success", timeout=30, message="second ran")
    # the lost first job was requeued by recovery and ran again under the limit
    wait_for(lambda: status(first) == "success", timeout=30, message="first ran again")
