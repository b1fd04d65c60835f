"""The dashboard's JSON API on real data (jobs run by a real burst worker), through the Flask app.

The routes are called in-process with Flask's test client against the real
Redis of the ``runtime`` fixture; the server itself is exercised in
test_security.py and test_browser.py.
"""
from __future__ import annotations

import re
import time

import pytest

from mrqcore.job import Job, queue_job
from mrqcore.queues import paused_queues
from mrqcore.store.base import JobSpec
from tests.conftest import wait_for
from tests.dashboard.conftest import FLAKY_FLAG

import flask  # noqa: E402,F401 - the dashboard extra is part of the test extra

ADD, FAIL = "tests.tasks.basic.Add", "tests.tasks.basic.Fail"
HOLD = "tests.dashboard.tasks.HoldUntilFile"


@pytest.fixture
def app(runtime):
    from mrqcore.dashboard import create_app
    return create_app(runtime)


@pytest.fixture
def client(app):
    client = app.test_client()
    client.get("/")  # a page visit gives the session its CSRF token

    def act(path, body=None, expect=200):
        token = client.get("/api/csrf").json["csrf_token"]
        response = client.post(path, json=body or {}, headers={"X-CSRF-Token": token})
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.json

    client.act = act
    return client


@pytest.fixture
def ran(runtime, run_burst, flag_file):
    """On queue 'web': 4 successes, 3 failures (ValueError) and 1 FailUntilFile failure, then 2 waiting on 'later'."""
    ok = [queue_job(ADD, {"a": i, "b": 1, "note": f"needle-{i}"}, queue="web") for i in range(4)]
    bad = [queue_job(FAIL, {"message": f"bad {i}"}, queue="web") for i in range(3)]
    flaky = queue_job(FLAKY_FLAG, {"flag": flag_file, "message": "not fixed yet"}, queue="web")
    run_burst("web")
    waiting = [queue_job(ADD, {"a": 0, "b": 0}, queue="later") for _ in range(2)]
    return {"ok": ok, "bad": bad, "flaky": flaky, "waiting": waiting}


def test_openapi_documents_every_route_and_only_routes(app, client):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert routes == documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and "200" in op["responses"], (method, path)
            names = set(re.findall(r"{(\w+)}", path))
            assert names == {p["name"] for p in op["parameters"] if p["in"] == "path"}, (method, path)


def test_jobs_filters(client, ran):
    failed = client.get("/api/jobs?status=failed").json["jobs"]
    assert sorted(j["id"] for j in failed) == sorted(ran["bad"] + [ran["flaky"]])
    assert all(j["status"] == "failed" and j["exceptiontype"] == "ValueError" for j in failed)
    assert failed[0]["dateupdated"] >= failed[-1]["dateupdated"]  # newest first
    assert failed[0]["labels"].get("celery") == "FAILURE"  # Celery's name beside MRQ's, via the entry point
    assert len(client.get("/api/jobs?queue=web").json["jobs"]) == 8
    assert len(client.get("/api/jobs?status=queued").json["jobs"]) == 2
    assert len(client.get("/api/jobs?path=tests.tasks.basic.*&status=success").json["jobs"]) == 4
    assert client.get("/api/jobs?exceptiontype=KeyError").json["jobs"] == []
    assert [j["id"] for j in client.get("/api/jobs?text=needle-2").json["jobs"]] == [ran["ok"][1 + 1]]
    assert [j["id"] for j in client.get(f"/api/jobs?id={ran['flaky']}").json["jobs"]] == [ran["flaky"]]
    worker = failed[0]["worker"]
    assert len(client.get(f"/api/jobs?worker={worker}&status=success").json["jobs"]) == 4


def test_jobs_paging_visits_every_job_once(client, ran):
    seen, cursor, pages = [], 0, 0
    while cursor is not None:
        page = client.get(f"/api/jobs?limit=3&cursor={cursor}").json
        seen += [j["id"] for j in page["jobs"]]
        cursor, pages = page["next_cursor"], pages + 1
    everything = ran["ok"] + ran["bad"] + [ran["flaky"]] + ran["waiting"]
    assert sorted(seen) == sorted(everything) and pages >= 4
    filtered, cursor = [], 0
    while cursor is not None:
        page = client.get(f"/api/jobs?status=failed&limit=2&cursor={cursor}").json
        filtered += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
    assert sorted(filtered) == sorted(ran["bad"] + [ran["flaky"]])


def test_bad_filters_are_named(client):
    response = client.get("/api/jobs?status=exploded")
    assert response.status_code == 400 and "exploded" in response.json["error"]
    response = client.get("/api/jobs?cursor=abc")
    assert response.status_code == 400 and "cursor" in response.json["error"]
    assert client.get("/api/jobs/nope").status_code == 404


def test_job_detail(client, ran, flag_file):
    detail = client.get(f"/api/jobs/{ran['flaky']}").json
    job = detail["job"]
    assert job["status"] == "failed" and job["path"] == FLAKY_FLAG
    assert "ValueError: not fixed yet" in job["traceback"]
    assert job["params"] == {"flag": flag_file, "message": "not fixed yet"}
    assert any("looking for" in line for line in detail["log_lines"])
    assert detail["run_line"].startswith(f"mrqc run {FLAKY_FLAG} ") and flag_file in detail["run_line"]
    assert detail["labels"] == {"celery": "FAILURE"}
    assert detail["parent_id"] is None and detail["children"] == []


def test_overview_queues_workers_failures(client, ran):
    overview = client.get("/api/overview").json
    assert overview["counts"]["success"] == 4 and overview["counts"]["failed"] == 4
    assert overview["counts"]["queued"] == 2 and overview["total"] == 10
    assert overview["labels"]["queued"] == {"celery": "PENDING"}
    assert sum(overview["throughput"]["success"]) == 4 and sum(overview["throughput"]["failed"]) == 4
    assert sum(overview["throughput"]["queued"]) == 10 and len(overview["throughput"]["minutes"]) == 60
    assert {q["name"]: q["size"] for q in overview["queues"]} == {"web": 0, "later": 2}
    queues = client.get("/api/queues").json
    assert {q["name"] for q in queues["queues"]} == {"web", "later"} and queues["scheduled"] == 0
    groups = client.get("/api/failures").json["groups"]
    assert [(g["path"], g["exceptiontype"], g["count"]) for g in groups] == [
        (FAIL, "ValueError", 3), (FLAKY_FLAG, "ValueError", 1)]


def test_workers_with_their_current_jobs(runtime, client, start_worker, flag_file):
    start_worker("slow", "--greenlets", "3")
    job_id = queue_job(HOLD, {"flag": flag_file}, queue="slow")

    def current():
        workers = client.get("/api/workers").json["workers"]
        jobs = [j for w in workers for j in w["current_jobs"]]
        return workers if jobs and jobs[0].get("progress") else None

    workers = wait_for(current, message="a worker reporting its running job with progress")
    worker = workers[0]
    assert worker["alive"] and worker["queues"] == ["slow"] and worker["greenlets"] == 3
    assert worker["rss_mb"] > 0 and worker["last_heartbeat"] <= time.time()
    assert worker["current_jobs"][0]["id"] == job_id
    assert worker["current_jobs"][0]["path"] == HOLD and worker["current_jobs"][0]["progress"] == 0.25
    open(flag_file, "w").close()
    assert Job(job_id, runtime).wait(timeout=30) == "released"


def test_actions_on_one_job_and_on_a_filter(runtime, client, ran, run_burst, flag_file):
    open(flag_file, "w").close()
    assert client.act(f"/api/jobs/{ran['flaky']}/requeue")["previous_status"] == "failed"
    client.act(f"/api/jobs/{ran['flaky']}/requeue", expect=409)  # already queued
    assert client.act(f"/api/jobs/{ran['waiting'][0]}/cancel")["previous_status"] == "queued"
    client.act("/api/jobs/nope/cancel", expect=404)
    run_burst("web")
    assert Job(ran["flaky"], runtime).fetch().data["status"] == "success"
    assert Job(ran["waiting"][0], runtime).fetch().data["status"] == "cancel"
    done = client.act("/api/jobs/requeue", {"status": "failed", "path": FAIL})
    assert sorted(done["requeued"]) == sorted(ran["bad"]) and done["skipped"] == []
    cancelled = client.act("/api/jobs/cancel", {"queue": "web", "status": "queued"})
    assert sorted(cancelled["cancelled"]) == sorted(ran["bad"])
    assert "at least one filter" in client.act("/api/jobs/cancel", {}, expect=400)["error"]
    assert "not id or text" in client.act("/api/jobs/cancel", {"id": ran["ok"][0]}, expect=400)["error"]


def test_pause_and_resume(runtime, client):
    queue_job(ADD, {"a": 1, "b": 2}, queue="crawl/a")
    assert client.act("/api/queues/crawl/a/pause") == {"queue": "crawl/a", "paused": True}
    assert paused_queues(runtime=runtime) == ["crawl/a"]
    assert [q["paused"] for q in client.get("/api/queues").json["queues"]] == [True]
    client.act("/api/queues/crawl/a/resume")
    assert paused_queues(runtime=runtime) == []


def test_schedule_shows_last_and_next_runs(config_values):
    from mrqcore.config import Config
    from mrqcore.dashboard import create_app
    from mrqcore.runtime import Runtime
    config_values["scheduler_tasks"] = [{"path": ADD, "params": {"a": 1, "b": 1}, "interval": 3600, "name": "hourly"}]
    rt = Runtime(Config(config_values))
    try:
        entries = create_app(rt).test_client().get("/api/schedule").json["entries"]
        now = time.time()
        assert [(e["id"], e["timing"], e["last_status"]) for e in entries] == [("hourly", "every 3600s", None)]
        assert entries[0]["last_due"] <= now < entries[0]["next_run"] == entries[0]["last_due"] + 3600
    finally:
        rt.close()


def test_a_rare_match_is_reached_by_following_next_cursor(runtime, client, monkeypatch):
    from mrqcore.dashboard import data
    monkeypatch.setattr(data, "SCAN_BUDGET", 30)
    rare = queue_job(ADD, {"a": 1, "b": 1}, queue="rare")
    for _ in range(4):
        runtime.store.enqueue([JobSpec(f"bulk-{time.time_ns()}-{i}", "common", {"path": ADD, "params": "{}"})
                               for i in range(25)], time.time() + 1)  # newer than the rare job
    first = client.get("/api/jobs?queue=rare&limit=5").json
    assert first["jobs"] == [] and first["next_cursor"] == 30 and first["scanned"] == 30  # budget spent
    cursor, requests, found = first["next_cursor"], 1, []
    while cursor is not None:
        page = client.get(f"/api/jobs?queue=rare&limit=5&cursor={cursor}").json
        found += [j["id"] for j in page["jobs"]]
        cursor, requests = page["next_cursor"], requests + 1
    assert found == [rare] and requests == 4
