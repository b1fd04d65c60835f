"""Admin API and commands on real data: queued jobs, a burst worker, then status/jobs/requeue/cancel."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from mrqcore import admin
from mrqcore.job import Job, queue_job
from tests.conftest import ROOT, worker_env

ADD, FAIL = "tests.tasks.basic.Add", "tests.tasks.basic.Fail"


@pytest.fixture
def mrqc(config_values):
    """Run ``mrqc ARGS...`` against this test's prefix; returns parsed JSON with --json, else the text."""

    def run(*args: str, expect: int = 0):
        proc = subprocess.run([sys.executable, "-m", "mrqcore.cli", *args], env=worker_env(config_values),
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == expect, f"mrqc {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
        return json.loads(proc.stdout) if "--json" in args and expect == 0 else proc.stdout + proc.stderr

    return run


@pytest.fixture
def ran_jobs(runtime, run_burst):
    """3 successes and 2 failures on 'work' (run by a burst worker), then 2 jobs waiting on 'x'."""
    ok = [queue_job(ADD, {"a": i, "b": 1}, queue="work") for i in range(3)]
    bad = [queue_job(FAIL, {"message": f"bad {i}"}, queue="work") for i in range(2)]
    run_burst("work")
    waiting = [queue_job(ADD, {"a": 0, "b": 0}, queue="x") for _ in range(2)]
    return {"ok": ok, "bad": bad, "waiting": waiting}


def test_status_counts_and_find_jobs(runtime, ran_jobs):
    counts = admin.status_counts()
    assert counts == {"total": 7, "by_status": {"failed": 2, "queued": 2, "success": 3},
                      "by_queue": {"work": {"failed": 2, "success": 3}, "x": {"queued": 2}}}
    failed = admin.find_jobs(status="failed")
    assert sorted(j["id"] for j in failed) == sorted(ran_jobs["bad"])
    assert {j["exceptiontype"] for j in failed} == {"ValueError"} and {j["path"] for j in failed} == {FAIL}
    assert failed[0]["dateupdated"] >= failed[1]["dateupdated"]  # newest first
    assert len(admin.find_jobs(queue="work", limit=2)) == 2
    assert len(admin.find_jobs(status=["failed", "queued"])) == 4
    assert len(admin.find_jobs(path="tests.tasks.basic.A*")) == 5
    assert admin.find_jobs(exceptiontype="KeyError") == []
    worker = failed[0]["worker"]
    assert len(admin.find_jobs(worker=worker, status="success")) == 3


def test_requeue_and_cancel_need_a_filter(runtime):
    with pytest.raises(ValueError, match="at least one filter"):
        admin.requeue_jobs()
    with pytest.raises(ValueError, match="at least one filter"):
        admin.cancel_jobs(status=[])


def test_list_queues_and_workers(runtime, ran_jobs, start_worker):
    from mrqcore.queues import pause_queue
    pause_queue("x")
    assert admin.list_queues() == [{"name": "work", "size": 0, "paused": False, "kind": None},
                                   {"name": "x", "size": 2, "paused": True, "kind": None}]
    worker = start_worker("x", "--name", "lister")
    from tests.conftest import wait_for
    rows = wait_for(lambda: admin.list_workers(), timeout=30, message="the worker's heartbeat")
    assert rows[0]["id"].startswith("lister.") and rows[0]["alive"] and rows[0]["queues"] == ["x"]
    assert rows[0]["pid"] == worker.pid and rows[0]["inflight"] == 0
    runtime.store.client.zadd(runtime.keys.workers, {"ghost": time.time() - 3600})
    assert [(w["id"], w["alive"]) for w in admin.list_workers()][-1] == ("ghost", False)


def test_admin_commands_on_real_data(runtime, ran_jobs, mrqc):
    status = mrqc("status", "--json")
    assert status["total"] == 7 and status["by_queue"]["work"] == {"failed": 2, "success": 3}
    assert "(all)" in mrqc("status")

    failed = mrqc("jobs", "--status", "failed", "--json")
    assert sorted(j["id"] for j in failed) == sorted(ran_jobs["bad"])
    assert set(failed[0]) >= {"id", "status", "queue", "path", "exceptiontype", "worker", "dateupdated"}
    assert len(mrqc("jobs", "--queue", "work", "--limit", "1", "--json")) == 1
    assert ran_jobs["bad"][0] in mrqc("jobs", "--exceptiontype", "ValueError")

    queues = mrqc("queues", "--json")
    assert [(q["name"], q["size"]) for q in queues] == [("work", 0), ("x", 2)]
    assert mrqc("workers", "--json") == []  # the burst worker unregistered on exit

    requeued = mrqc("requeue", "--status", "failed", "--json")
    assert sorted(requeued["requeued"]) == sorted(ran_jobs["bad"]) and requeued["skipped"] == []
    for job_id in ran_jobs["bad"]:
        job = Job(job_id).fetch()
        assert job.status == "queued" and job.requeue_history[-1]["note"] == "requeued by admin"
    assert "requeued 0 jobs" in mrqc("requeue", "--status", "failed")

    cancelled = mrqc("cancel", "--queue", "x", "--json")
    assert sorted(cancelled["cancelled"]) == sorted(ran_jobs["waiting"])
    assert cancelled["cancel_requested"] == [] and cancelled["skipped"] == []
    assert {Job(i).fetch().status for i in ran_jobs["waiting"]} == {"cancel"}
    assert runtime.store.queue_size("x") == 0

    assert "needs at least one filter" in mrqc("requeue", expect=2)
    assert "needs at least one filter" in mrqc("cancel", expect=2)


def test_pause_resume_and_recover_commands(runtime, mrqc):
    queue_job(ADD, {"a": 1, "b": 1}, queue="slow")
    assert mrqc("pause", "slow", "--json") == {"paused": ["slow"]}
    assert [q["paused"] for q in mrqc("queues", "--json")] == [True]
    assert mrqc("resume", "slow", "--json") == {"paused": []}
    runtime.store.client.zadd(runtime.keys.workers, {"ghost": time.time() - 3600})
    report = mrqc("recover", "--json")
    assert report["lost_workers"] == ["ghost"] and report["requeued_lost"] == []


def test_cancel_marks_a_started_job(runtime):
    job_id = queue_job(ADD, {"a": 1, "b": 1}, queue="held")
    runtime.store.dequeue("w1", ["held"], 1, time.time())
    out = admin.cancel_jobs(queue="held")
    assert out == {"cancelled": [], "cancel_requested": [job_id], "skipped": []}
    assert admin.requeue_jobs(queue="held") == {"requeued": [], "skipped": [job_id]}
