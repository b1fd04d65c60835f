"""Beat with a real mrqc app: conversion of its schedule, and runs through real worker/beat processes."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from mrqc.beat import scheduler_tasks
from mrqc.exceptions import ImproperlyConfigured
from mrqc.schedules import crontab
from mrqcore.job import Job
from mrqcore.scheduler import Scheduler
from tests.conftest import ROOT, wait_for, worker_env

APP = "tests.compat_beat.beat_app"


def ts(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.timezone.utc).timestamp()


def ticks(runtime) -> list[str]:
    return runtime.store.client.lrange(runtime.config.redis_prefix + "test:beat-ticks", 0, -1)


def test_scheduler_tasks_of_an_app(runtime):
    from tests.compat_beat.beat_app import app
    entries = {e["name"]: e for e in scheduler_tasks(app)}
    assert entries["nightly"] == {"name": "nightly", "path": "tests.compat_beat.beat_app.tick",
                                  "params": {"args": ["nightly"], "kwargs": {"extra": 1}},
                                  "cron": "30 2 * * *", "catch_up": False}
    assert entries["tick"]["interval"] == 3600.0 and entries["tick"]["queue"] == "beat-ticks"
    assert entries["tick"]["params"] == {"args": ["every"], "kwargs": {}}


def test_non_utc_timezone_goes_with_the_crontab_entries(runtime):
    """Crontab entries carry the app's zone to the scheduler (they used to be refused); intervals do not."""
    from mrqc import Celery
    app = Celery("tz_app", set_as_current=False)
    app.conf.timezone = "Europe/Paris"
    app.conf.beat_schedule = {"morning": {"task": "x.y", "schedule": crontab(minute=0, hour=7)},
                              "often": {"task": "x.z", "schedule": 60}}
    entries = {e["name"]: e for e in scheduler_tasks(app)}
    assert entries["morning"]["timezone"] == "Europe/Paris" and entries["morning"]["cron"] == "0 7 * * *"
    assert "timezone" not in entries["often"]  # intervals do not depend on the zone
    app.conf.timezone = "UTC"
    assert "timezone" not in {e["name"]: e for e in scheduler_tasks(app)}["morning"]


def test_ticked_run_executes_the_celery_task(runtime, run_burst):
    """A due entry queues a job a worker runs as the Celery task, with the entry's args and kwargs."""
    from tests.compat_beat.beat_app import app
    scheduler = Scheduler(runtime, scheduler_tasks(app))
    scheduler.tick(ts(2026, 5, 1, 1, 59))
    runs = {r.entry.id: r for r in scheduler.tick(ts(2026, 5, 1, 2, 30))}
    assert set(runs) == {"nightly", "tick"}
    assert Job(runs["tick"].job_id, runtime).fetch().queue == "beat-ticks"
    run_burst("-A", APP, "beat-default", "beat-ticks")
    assert sorted(ticks(runtime)) == ["every:0", "nightly:1"]
    assert Job(runs["nightly"].job_id, runtime).fetch().status == "success"


@pytest.mark.timeout(60)
def test_worker_with_scheduler_runs_periodic_tasks(runtime, start_worker):
    """``mrqc worker -A app --scheduler`` (Celery's ``worker -B``) runs add_periodic_task entries."""
    worker = start_worker("-A", APP, "--scheduler", env={"BEAT_APP_EVERY": "1"})
    try:
        wait_for(lambda: len(ticks(runtime)) >= 2, timeout=30, message="two periodic runs")
    except AssertionError as exc:  # the worker's output is only known now
        raise AssertionError(f"{exc}; worker output:\n{worker.output()[-3000:]}") from None
    assert set(ticks(runtime)) == {"every:0"}


@pytest.mark.timeout(60)
def test_mrqc_beat_command(runtime, config_values, start_worker):
    """``mrqc beat -A app`` queues the runs, a plain worker runs them."""
    env = worker_env(config_values, {"BEAT_APP_EVERY": "1"})
    beat = subprocess.Popen([sys.executable, "-m", "mrqcore.cli", "beat", "-A", APP], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        start_worker("-A", APP, "beat-default", "beat-ticks")
        wait_for(lambda: len(ticks(runtime)) >= 2 or beat.poll() is not None, timeout=30,
                 message="two periodic runs queued by mrqc beat")
        assert beat.poll() is None, beat.communicate()[0]
    finally:
        beat.terminate()
        output = beat.communicate(timeout=10)[0]
    assert beat.returncode == 0, output
    assert "beat: 2 periodic tasks" in output
