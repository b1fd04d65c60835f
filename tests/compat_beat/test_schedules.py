"""mrqc.schedules: Celery's crontab/schedule, checked against real Celery's own parser."""
from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab as celery_crontab

from mrqc.schedules import crontab, maybe_schedule, schedule, solar

FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")

SPECS = [
    {}, {"minute": 30, "hour": 2}, {"minute": "*/15"}, {"hour": "9-17", "day_of_week": "mon-fri"},
    {"day_of_week": "fri-mon"}, {"minute": "0,30", "hour": "*/3"}, {"day_of_month": "1-7,15-21"},
    {"month_of_year": "*/3", "day_of_month": 1, "hour": 0, "minute": 0}, {"day_of_week": "sun"},
    {"day_of_week": "0-6/2"}, {"minute": [1, 2, 3]}, {"hour": "22-2"}, {"minute": "1-59/7"},
    {"day_of_week": "saturday"}, {"hour": {0, 12}},
]


@pytest.mark.parametrize("spec", SPECS, ids=[repr(s) for s in SPECS])
def test_fields_expand_like_celery(spec):
    ours, theirs = crontab(**spec), celery_crontab(**spec)
    for name in FIELDS:
        assert getattr(ours, name) == getattr(theirs, name), name


@pytest.mark.parametrize("spec, cron", [
    ({}, "* * * * *"),
    ({"minute": 30, "hour": 2}, "30 2 * * *"),
    ({"minute": 0, "hour": 9, "day_of_week": "mon"}, "0 9 * * 1"),
    ({"minute": 0, "hour": 0, "day_of_month": "1"}, "0 0 1 * *"),
    ({"minute": "*/20"}, "0,20,40 * * * *"),
    ({"minute": 0, "hour": "9-11", "day_of_week": "mon-fri"}, "0 9,10,11 * * 1,2,3,4,5"),
    ({"minute": 0, "hour": 0, "day_of_month": 1, "month_of_year": "*/6"}, "0 0 1 1,7 *"),
])
def test_to_cron(spec, cron):
    assert crontab(**spec).to_cron() == cron


def test_to_cron_refuses_both_day_fields():
    with pytest.raises(ValueError, match="both day_of_month and day_of_week"):
        crontab(minute=0, hour=0, day_of_month=13, day_of_week="fri").to_cron()


@pytest.mark.parametrize("spec, field", [
    ({"minute": 60}, "minute"), ({"hour": "25"}, "hour"), ({"day_of_week": "funday"}, "day_of_week"),
    ({"day_of_month": 0}, "day_of_month"), ({"month_of_year": "13"}, "month_of_year"),
    ({"minute": "1-2-3"}, "minute"), ({"hour": True}, "hour"), ({"minute": ["x"]}, "minute"),
])
def test_bad_fields_name_the_field(spec, field):
    with pytest.raises(ValueError, match=f"crontab {field}="):
        crontab(**spec)


def test_equality_and_repr():
    assert crontab(minute=30, hour=2) == crontab(minute="30", hour="2")
    assert crontab(minute=30, hour=2) != crontab(minute=31, hour=2)
    assert crontab(day_of_week="mon-fri") == crontab(day_of_week="1-5")
    assert hash(crontab(minute=5)) == hash(crontab(minute="5"))
    assert repr(crontab(minute=30, hour=2)) == "<crontab: 30 2 * * * (m/h/dM/MY/d)>"


def test_crontab_due_times_follow_celery():
    nightly = crontab(minute=30, hour=2)
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert nightly.next_run_after(start) == dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.timezone.utc)
    # both day fields: Celery's rule, both must match (Friday the 13th)
    friday13 = crontab(minute=0, hour=0, day_of_month=13, day_of_week="fri")
    assert friday13.next_run_after(start) == dt.datetime(2026, 3, 13, 0, 0, tzinfo=dt.timezone.utc)
    fixed_now = dt.datetime(2026, 3, 2, 2, 31, tzinfo=dt.timezone.utc)
    due = crontab(minute=30, hour=2, nowfun=lambda: fixed_now).is_due(start)
    assert due.is_due is True and due.next == pytest.approx(86340)
    early = crontab(minute=30, hour=2, nowfun=lambda: start).is_due(start)
    assert early.is_due is False and early.next == pytest.approx(14.5 * 3600)


def test_schedule_interval():
    every = schedule(dt.timedelta(minutes=10))
    assert every.seconds == 600
    assert every == schedule(600) == dt.timedelta(minutes=10)
    assert maybe_schedule(30).seconds == 30
    assert maybe_schedule(crontab()) == crontab()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    fixed = schedule(600, nowfun=lambda: now)
    assert fixed.is_due(now - dt.timedelta(minutes=11)).is_due is True
    assert fixed.is_due(now - dt.timedelta(minutes=1)) == (False, 540)
    with pytest.raises(ValueError):
        schedule(0)
    with pytest.raises(TypeError, match="timedelta or a number"):
        schedule("10")


def test_solar_is_refused():
    from mrqc.exceptions import UnsupportedOption
    from mrqcore.exceptions import MrqcError
    with pytest.raises(UnsupportedOption, match="solar") as info:
        solar("sunset", 0, 0)
    assert isinstance(info.value, MrqcError)  # under the one exception root
