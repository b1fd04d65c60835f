"""Crontab entries in any IANA time zone, daylight saving time read as Celery beat reads it.

The due times are pure functions of a fixed ``now`` (``ScheduleEntry.next_run_after``),
checked against real Celery: Celery beat's runs are found by asking Celery's own
``crontab.is_due`` minute after minute (``nowfun``) over the days around each
transition, and mrqc's scheduler must name exactly the same instants. One test
starts a real ``mrqc worker -A ... --scheduler`` with a non-UTC ``timezone``.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from celery import Celery as RealCelery
from celery.schedules import crontab as celery_crontab

from mrqc import Celery
from mrqc.schedules import crontab
from mrqcore.exceptions import ConfigError
from mrqcore.scheduler import ScheduleEntry
from tests.conftest import wait_for

UTC = dt.timezone.utc

# (zone, crontab fields, first instant looked at (UTC), hours looked at): each window holds a DST change
CASES = [
    ("Europe/Paris", {"minute": 30, "hour": 2}, (2026, 3, 27, 12), 72),         # 02:30 skipped
    ("Europe/Paris", {"minute": 30, "hour": 2}, (2026, 10, 23, 12), 72),        # 02:30 twice
    ("Europe/Paris", {"minute": "*/30", "hour": "1-3"}, (2026, 3, 28, 12), 24),
    ("Europe/Paris", {"minute": "*/30", "hour": "1-3"}, (2026, 10, 24, 12), 24),
    ("Europe/Paris", {"minute": 0, "hour": 9}, (2026, 3, 27, 12), 72),
    ("America/New_York", {"minute": 15, "hour": "2", "day_of_week": "sun"}, (2026, 3, 1, 12), 24 * 9),
    ("America/New_York", {"minute": 45, "hour": "*"}, (2026, 11, 1, 2), 8),
    ("Australia/Lord_Howe", {"minute": "0,15,30,45", "hour": 2}, (2026, 4, 4, 10), 24),  # 30-minute DST
    ("Asia/Tokyo", {"minute": 0, "hour": 7}, (2026, 3, 27, 12), 72),            # no DST, +9
]


def celery_runs(zone: str, fields: dict, start: dt.datetime, hours: int) -> list[float]:
    """The instants real Celery beat runs the entry at: its is_due asked every minute."""
    app = RealCelery(set_as_current=False)
    app.conf.timezone = zone
    now = [start]
    schedule = celery_crontab(**fields, app=app, nowfun=lambda: now[0])
    last, runs = start, []
    for minute in range(1, hours * 60 + 1):
        now[0] = start + dt.timedelta(minutes=minute)
        if schedule.is_due(last)[0]:
            runs.append(now[0].timestamp())
            last = now[0]
    return runs


def mrqc_runs(entry: ScheduleEntry, start: dt.datetime, hours: int) -> list[float]:
    end, t, runs = (start + dt.timedelta(hours=hours)).timestamp(), start.timestamp(), []
    while (t := entry.next_run_after(t)) <= end:
        runs.append(t)
    return runs


def local(zone: str, instants: list[float]) -> list[str]:
    return [dt.datetime.fromtimestamp(t, ZoneInfo(zone)).isoformat() for t in instants]


@pytest.mark.parametrize("zone,fields,start,hours", CASES)
def test_due_times_match_celery_beat_across_dst(zone, fields, start, hours):
    start_at = dt.datetime(*start, tzinfo=UTC)
    entry = ScheduleEntry.from_dict({"path": "x.y", "cron": crontab(**fields).to_cron(), "timezone": zone})
    expected = celery_runs(zone, fields, start_at, hours)
    assert expected, "the window holds runs"
    assert local(zone, mrqc_runs(entry, start_at, hours)) == local(zone, expected)
    # the scheduler's tick asks for the latest due time at or before now: the same instants
    for previous, due in zip([None] + expected, expected):
        assert entry.last_run_at_or_before(due) == due
        if previous is not None:
            assert entry.last_run_at_or_before(due - 1) == previous


def test_the_transitions_as_celery_reads_them():
    """Spelled out: a skipped 02:30 runs at 03:30 summer time; a repeated 02:30 runs once, the first time."""
    entry = ScheduleEntry.from_dict({"path": "x.y", "cron": "30 2 * * *", "timezone": "Europe/Paris"})
    spring = mrqc_runs(entry, dt.datetime(2026, 3, 27, 12, tzinfo=UTC), 72)
    assert local("Europe/Paris", spring) == ["2026-03-28T02:30:00+01:00", "2026-03-29T03:30:00+02:00",
                                             "2026-03-30T02:30:00+02:00"]
    autumn = mrqc_runs(entry, dt.datetime(2026, 10, 23, 12, tzinfo=UTC), 72)
    assert local("Europe/Paris", autumn) == ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00",
                                             "2026-10-26T02:30:00+01:00"]


def test_dailytime_in_a_zone_reads_like_the_same_cron():
    daily = ScheduleEntry.from_dict({"path": "x.y", "dailytime": "02:30", "timezone": "Europe/Paris"})
    cron = ScheduleEntry.from_dict({"path": "x.y", "cron": "30 2 * * *", "timezone": "Europe/Paris"})
    for start in ((2026, 3, 27, 12), (2026, 10, 23, 12)):
        start_at = dt.datetime(*start, tzinfo=UTC)
        assert mrqc_runs(daily, start_at, 72) == mrqc_runs(cron, start_at, 72)
    assert daily.describe() == "daily at 02:30:00 Europe/Paris"


def test_without_a_zone_nothing_changes():
    utc = ScheduleEntry.from_dict({"path": "x.y", "cron": "30 2 * * *"})
    named = ScheduleEntry.from_dict({"path": "x.y", "cron": "30 2 * * *", "timezone": "UTC"})
    start = dt.datetime(2026, 3, 27, 12, tzinfo=UTC)
    assert mrqc_runs(utc, start, 72) == mrqc_runs(named, start, 72) == [
        dt.datetime(2026, 3, d, 2, 30, tzinfo=UTC).timestamp() for d in (28, 29, 30)]
    assert utc.id != named.id and "timezone" not in utc.id  # ids of zone-less entries are as before


@pytest.mark.parametrize("raw,match", [
    ({"cron": "0 7 * * *", "timezone": "Europe/Pariss"}, r"'timezone' 'Europe/Pariss' is not a known IANA"),
    ({"cron": "0 7 * * *", "timezone": 2}, r"'timezone' must be an IANA time zone name"),
    ({"interval": 60, "timezone": "Europe/Paris"}, r"'timezone' applies to 'cron' and 'dailytime'"),
])
def test_bad_timezone_is_refused_naming_the_field(raw, match):
    with pytest.raises(ConfigError, match=match):
        ScheduleEntry.from_dict({"path": "x.y", **raw})


def test_crontab_with_an_app_answers_in_the_app_zone():
    app = Celery("tz", set_as_current=False)
    app.conf.timezone = "America/New_York"
    nightly = crontab(minute=30, hour=2, app=app)
    nxt = nightly.next_run_after(dt.datetime(2026, 3, 7, 12, tzinfo=UTC))
    assert nxt.tzinfo is not None
    assert nxt.astimezone(ZoneInfo("America/New_York")).isoformat() == "2026-03-08T03:30:00-04:00"  # DST day
    assert crontab(minute=30, hour=2).next_run_after(dt.datetime(2026, 3, 7, 12, tzinfo=UTC)) == \
        dt.datetime(2026, 3, 8, 2, 30, tzinfo=UTC)  # no app: UTC, as before


@pytest.mark.timeout(60)
def test_worker_starts_with_a_non_utc_timezone(runtime, start_worker):
    """A worker with -B and timezone America/New_York starts (it used to refuse) and places the
    crontab entry's due times on New York's wall clock: the marker of the nightly entry (the
    latest due time the scheduler has seen) reads 02:30 there (03:30 on the day clocks jump)."""
    worker = start_worker("-A", "tests.compat_beat.beat_app", "--scheduler",
                          env={"BEAT_APP_EVERY": "1", "BEAT_APP_TZ": "America/New_York"})
    marker = runtime.keys.schedule_last("nightly")
    try:
        wait_for(lambda: runtime.store.client.get(marker), timeout=30, message="the nightly entry seen")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; worker output:\n{worker.output()[-3000:]}") from None
    due = float(runtime.store.client.get(marker))
    assert dt.datetime.fromtimestamp(due, ZoneInfo("America/New_York")).strftime("%H:%M") in ("02:30", "03:30")
    assert "cron '30 2 * * *' (America/New_York)" in worker.output()
