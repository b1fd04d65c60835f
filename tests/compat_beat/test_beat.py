"""mrqc.beat: converting beat_schedule entries and running them through mrqcore's scheduler.

The scheduler is driven with explicit times (``Scheduler.tick(now)``) against
a real Redis under the test's key prefix; nothing waits for the clock.
"""
from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab as celery_crontab

from mrqc.beat import entry_to_scheduler_task, timing_of
from mrqc.exceptions import ImproperlyConfigured
from mrqc.schedules import crontab, schedule
from mrqcore.job import Job
from mrqcore.scheduler import Scheduler

UTC = dt.timezone.utc


def ts(*args: int) -> float:
    return dt.datetime(*args, tzinfo=UTC).timestamp()


def test_crontab_entry():
    entry = {"task": "shop.tasks.reports.daily_sales", "schedule": crontab(minute=30, hour=2),
             "args": ("eu",), "options": {"queue": "reports"}}
    assert entry_to_scheduler_task("nightly", entry) == {
        "name": "nightly", "path": "shop.tasks.reports.daily_sales", "cron": "30 2 * * *",
        "params": {"args": ["eu"], "kwargs": {}}, "queue": "reports", "catch_up": False}


@pytest.mark.parametrize("value", [600, 600.0, dt.timedelta(minutes=10), schedule(600),
                                   schedule(dt.timedelta(seconds=600))])
def test_interval_entries(value):
    out = entry_to_scheduler_task("cleanup", {"task": "t.cleanup", "schedule": value, "kwargs": {"all": True}})
    assert out == {"name": "cleanup", "path": "t.cleanup", "interval": 600.0, "catch_up": False,
                   "params": {"args": [], "kwargs": {"all": True}}}


@pytest.mark.parametrize("entry, message", [
    ({"task": "t", "schedule": 5, "agrs": ()}, "unknown key"),
    ({"schedule": 5}, "'task' must be a task name"),
    ({"task": "t"}, "has no 'schedule'"),
    ({"task": "t", "schedule": "5"}, "'schedule' must be"),
    ({"task": "t", "schedule": -1}, "positive"),
    ({"task": "t", "schedule": celery_crontab(minute=1)}, "import crontab/schedule from mrqc.schedules"),
    ({"task": "t", "schedule": crontab(day_of_month=1, day_of_week=1)}, "both day_of_month and day_of_week"),
    ({"task": "t", "schedule": 5, "args": "abc"}, "'args' must be a list"),
    ({"task": "t", "schedule": 5, "kwargs": [1]}, "'kwargs' must be a dict"),
])
def test_bad_entries_name_the_entry(entry, message):
    with pytest.raises(ImproperlyConfigured, match="beat_schedule entry 'e'.*" + message.replace("(", r"\(")):
        entry_to_scheduler_task("e", entry)


def test_options_other_than_queue_are_logged(caplog):
    out = entry_to_scheduler_task("e", {"task": "t", "schedule": 5, "options": {"queue": "q", "expires": 10}})
    assert out["queue"] == "q"
    assert "['expires'] are not applied" in caplog.text


def test_timing_of_rejects_bool():
    with pytest.raises(TypeError):
        timing_of(True)


def test_tick_queues_each_due_run_once(runtime):
    """Like Celery beat: nothing at start; each due time queues exactly one job with the entry's args."""
    entries = [
        entry_to_scheduler_task("nightly", {"task": "shop.tasks.reports.daily_sales",
                                            "schedule": crontab(minute=30, hour=2), "args": ("eu",),
                                            "options": {"queue": "reports"}}),
        entry_to_scheduler_task("cleanup", {"task": "shop.tasks.orders.cleanup_carts",
                                            "schedule": dt.timedelta(minutes=10), "kwargs": {"older_than": 3}}),
    ]
    scheduler = Scheduler(runtime, entries)
    assert scheduler.tick(ts(2026, 3, 2, 2, 25)) == []          # first sight: remember, queue nothing
    runs = scheduler.tick(ts(2026, 3, 2, 2, 31))
    assert sorted((r.entry.id, r.due) for r in runs) == [("cleanup", ts(2026, 3, 2, 2, 30)),
                                                          ("nightly", ts(2026, 3, 2, 2, 30))]
    assert scheduler.tick(ts(2026, 3, 2, 2, 32)) == []          # nothing new is due
    # a second scheduler process (another beat or worker --scheduler) does not queue them again
    assert Scheduler(runtime, entries).tick(ts(2026, 3, 2, 2, 33)) == []
    by_entry = {r.entry.id: r for r in runs}
    nightly = Job(by_entry["nightly"].job_id, runtime).fetch()
    assert (nightly.path, nightly.queue, nightly.status) == ("shop.tasks.reports.daily_sales", "reports", "queued")
    assert nightly.params == {"args": ["eu"], "kwargs": {}}
    cleanup = Job(by_entry["cleanup"].job_id, runtime).fetch()
    assert cleanup.params == {"args": [], "kwargs": {"older_than": 3}}
    assert cleanup.queue == runtime.config.default_queue
    later = scheduler.tick(ts(2026, 3, 3, 2, 30))               # next night: both again, once
    assert sorted(r.entry.id for r in later) == ["cleanup", "nightly"]
