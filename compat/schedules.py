"""``mrqc.schedules``: Celery's ``crontab`` and ``schedule``, for ``beat_schedule`` entries.

Write schedules exactly as with Celery::

    from mrqc.schedules import crontab, schedule

    app.conf.beat_schedule = {
        "nightly": {"task": "shop.tasks.report", "schedule": crontab(minute=30, hour=2)},
        "every-10-min": {"task": "shop.tasks.cleanup", "schedule": 600.0},   # or timedelta / schedule(...)
    }

A ``crontab`` keeps Celery's signature, field syntax (``"*/15"``, ``"1-5"``,
``"mon-fri"``, ``"1,15"``, ints, sets of ints), attributes (the expanded sets)
and equality. ``to_cron()`` renders it as a standard 5-field cron expression,
which is what mrqcore's scheduler runs (``mrqc.beat`` does the conversion).

Crontab times are wall-clock times in the app's ``timezone`` (UTC when unset),
daylight saving time handled as Celery does (see ``mrqcore.scheduler``): beat
entries carry the zone to mrqcore's scheduler (``mrqc.beat``), and a crontab
built with ``app=`` answers ``next_run_after``/``is_due`` in its app's zone.
What is different: a crontab that restricts both ``day_of_month`` and
``day_of_week`` cannot be converted (Celery requires both to match, cron
matches either), which ``to_cron()`` reports. ``solar`` schedules are not
supported.

This module queues nothing; it only describes times.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import namedtuple
from typing import Any, Iterable

__all__ = ("crontab", "schedule", "schedstate", "maybe_schedule", "solar")

#: Celery's return type of ``is_due``: (is it due now?, seconds until the next check)
schedstate = namedtuple("schedstate", ("is_due", "next"))

_DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
              "sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5,
              "saturday": 6}
_MONTH_NAMES = {name: i + 1 for i, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}

# field -> (lowest, highest) allowed value
_BOUNDS = {"minute": (0, 59), "hour": (0, 23), "day_of_week": (0, 6), "day_of_month": (1, 31),
           "month_of_year": (1, 12)}
_PART = re.compile(r"^(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>\d+))?$")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _as_utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


class schedule:
    """Run every ``run_every`` (a timedelta or seconds), like ``celery.schedules.schedule``.

    ``relative`` and ``nowfun``/``app`` are accepted for Celery compatibility;
    mrqcore aligns interval runs to multiples of the interval since the epoch,
    so every scheduler process computes the same due times.
    """

    def __init__(self, run_every: dt.timedelta | float | int | None = None, relative: bool = False,
                 nowfun: Any = None, app: Any = None) -> None:
        if isinstance(run_every, dt.timedelta):
            seconds = run_every.total_seconds()
        elif isinstance(run_every, (int, float)) and not isinstance(run_every, bool):
            seconds = float(run_every)
        else:
            raise TypeError(f"schedule(run_every=...) needs a timedelta or a number of seconds, got {run_every!r}")
        if seconds <= 0:
            raise ValueError(f"schedule(run_every=...) must be positive, got {run_every!r}")
        self.run_every = dt.timedelta(seconds=seconds)
        self.relative = relative
        self.nowfun = nowfun

    @property
    def seconds(self) -> float:
        return self.run_every.total_seconds()

    def now(self) -> dt.datetime:
        return self.nowfun() if self.nowfun else _utcnow()

    def remaining_estimate(self, last_run_at: dt.datetime) -> dt.timedelta:
        return _as_utc(last_run_at) + self.run_every - _as_utc(self.now())

    def is_due(self, last_run_at: dt.datetime) -> schedstate:
        remaining = self.remaining_estimate(last_run_at).total_seconds()
        if remaining <= 0:
            return schedstate(True, self.seconds)
        return schedstate(False, remaining)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, schedule):
            return self.run_every == other.run_every
        if isinstance(other, dt.timedelta):
            return self.run_every == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.run_every)

    def __repr__(self) -> str:
        return f"<freq: {self.run_every}>"


class crontab:
    """Celery's crontab: ``crontab(minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*")``.

    Each field takes a cron-style string (``"*"``, ``"*/15"``, ``"0,30"``,
    ``"9-17"``, ``"mon-fri"``, ``"1-31/2"``), an int, or an iterable of ints.
    ``day_of_week`` counts from Sunday = 0 (names accepted), as in Celery and
    cron. After construction the fields are the expanded sets of ints, as in
    Celery, and two crontabs are equal when their sets are. A bad field
    raises ValueError naming the field and the value.
    """

    def __init__(self, minute: Any = "*", hour: Any = "*", day_of_week: Any = "*",
                 day_of_month: Any = "*", month_of_year: Any = "*", nowfun: Any = None, app: Any = None,
                 **kwargs: Any) -> None:
        self._orig_minute = minute
        self._orig_hour = hour
        self._orig_day_of_week = day_of_week
        self._orig_day_of_month = day_of_month
        self._orig_month_of_year = month_of_year
        self.minute: set[int] = _expand("minute", minute)
        self.hour: set[int] = _expand("hour", hour)
        self.day_of_week: set[int] = _expand("day_of_week", day_of_week)
        self.day_of_month: set[int] = _expand("day_of_month", day_of_month)
        self.month_of_year: set[int] = _expand("month_of_year", month_of_year)
        self.nowfun = nowfun
        self.app = app

    # --- conversion -------------------------------------------------------------------

    def to_cron(self) -> str:
        """The 5-field cron expression (minute hour day-of-month month day-of-week), wall-clock times.

        ValueError if both day fields are restricted: Celery runs only on days
        matching both, cron on days matching either, so no cron line says it.
        """
        if self._restricted("day_of_month") and self._restricted("day_of_week"):
            raise ValueError(f"{self!r} restricts both day_of_month and day_of_week; Celery requires both to "
                             "match but a cron expression matches either, so mrqc cannot schedule it. "
                             "Use two entries, or one field and a check inside the task.")
        return " ".join(_render(name, getattr(self, name))
                        for name in ("minute", "hour", "day_of_month", "month_of_year", "day_of_week"))

    def _restricted(self, name: str) -> bool:
        low, high = _BOUNDS[name]
        return getattr(self, name) != set(range(low, high + 1))

    # --- Celery's schedule API ----------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.nowfun() if self.nowfun else _utcnow()

    def next_run_after(self, when: dt.datetime) -> dt.datetime:
        """The first matching minute strictly after ``when``, following Celery's AND rule for days.

        Read in the app's ``timezone`` when built with ``app=`` (DST as Celery
        reads it), else in UTC; the result is an aware UTC datetime.
        """
        zone = self._zone()
        if zone is not None:
            from mrqcore.scheduler import ScheduleEntry
            entry = ScheduleEntry(path="crontab", cron=self.to_cron(), timezone=zone)
            return dt.datetime.fromtimestamp(entry.next_run_after(_as_utc(when).timestamp()), dt.timezone.utc)
        from croniter import croniter
        expr = " ".join(_render(n, getattr(self, n)) for n in ("minute", "hour", "day_of_month",
                                                                  "month_of_year", "day_of_week"))
        return croniter(expr, _as_utc(when), day_or=False).get_next(dt.datetime)

    def remaining_estimate(self, last_run_at: dt.datetime) -> dt.timedelta:
        return self.next_run_after(_as_utc(last_run_at)) - _as_utc(self.now())

    def _zone(self) -> str | None:
        if self.app is None or not hasattr(self.app, "conf"):
            return None
        from .beat import app_timezone
        return app_timezone(self.app)

    def is_due(self, last_run_at: dt.datetime) -> schedstate:
        remaining = self.remaining_estimate(last_run_at).total_seconds()
        if remaining <= 0:
            following = self.next_run_after(_as_utc(self.now()))
            return schedstate(True, (following - _as_utc(self.now())).total_seconds())
        return schedstate(False, remaining)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, crontab):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _BOUNDS)

    def __hash__(self) -> int:
        return hash(tuple(frozenset(getattr(self, n)) for n in _BOUNDS))

    def __repr__(self) -> str:
        fields = (self._orig_minute, self._orig_hour, self._orig_day_of_month, self._orig_month_of_year,
                  self._orig_day_of_week)
        return "<crontab: {} {} {} {} {} (m/h/dM/MY/d)>".format(*(_short(f) for f in fields))


class solar:
    """Not supported: mrqc's scheduler has no sun-position schedules."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .exceptions import UnsupportedOption
        raise UnsupportedOption("mrqc does not support solar schedules; use crontab() with fixed UTC times")


def maybe_schedule(value: Any, relative: bool = False, app: Any = None) -> Any:
    """Celery's helper: numbers and timedeltas become ``schedule``; schedules pass through."""
    if isinstance(value, (int, float, dt.timedelta)) and not isinstance(value, bool):
        return schedule(value, relative)
    return value


# --- field parsing ----------------------------------------------------------------------


def _expand(name: str, value: Any) -> set[int]:
    low, high = _BOUNDS[name]
    if isinstance(value, bool):
        raise ValueError(f"crontab {name}={value!r}: expected a cron string, an int or ints")
    if isinstance(value, int):
        values = {value}
    elif isinstance(value, str):
        values = set()
        for part in value.replace(" ", "").lower().split(","):
            values |= _expand_part(name, value, part)
    elif isinstance(value, Iterable):
        values = set()
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int):
                raise ValueError(f"crontab {name}={value!r}: {item!r} is not an int")
            values.add(item)
    else:
        raise ValueError(f"crontab {name}={value!r}: expected a cron string, an int or ints")
    if name == "day_of_week":
        values = {0 if v == 7 else v for v in values}
    bad = sorted(v for v in values if not low <= v <= high)
    if bad or not values:
        raise ValueError(f"crontab {name}={value!r}: values must be from {low} to {high}"
                         + (f", got {bad}" if bad else ""))
    return values


def _expand_part(name: str, whole: Any, part: str) -> set[int]:
    low, high = _BOUNDS[name]
    match = _PART.match(part)
    if not match:
        raise ValueError(f"crontab {name}={whole!r}: cannot parse {part!r}")
    step = int(match.group("step") or 1)
    if step < 1:
        raise ValueError(f"crontab {name}={whole!r}: step must be at least 1 in {part!r}")
    spec = match.group("range")
    if spec == "*":
        return set(range(low, high + 1, step))
    first, _, last = spec.partition("-")
    start = _number(name, whole, first)
    if not last:
        return {start} if step == 1 else set(range(start, high + 1, step))
    end = _number(name, whole, last)
    if end >= start:
        return set(range(start, end + 1, step))
    # a range that wraps, e.g. "fri-mon" or "22-2" (Celery allows it)
    return set((list(range(start, high + 1)) + list(range(low, end + 1)))[::step])


def _number(name: str, whole: Any, text: str) -> int:
    if text.isdigit():
        return int(text)
    names = _DAY_NAMES if name == "day_of_week" else _MONTH_NAMES if name == "month_of_year" else {}
    if text in names:
        return names[text]
    raise ValueError(f"crontab {name}={whole!r}: {text!r} is not a number"
                     + (" or a name" if names else ""))


def _render(name: str, values: set[int]) -> str:
    low, high = _BOUNDS[name]
    if values == set(range(low, high + 1)):
        return "*"
    return ",".join(str(v) for v in sorted(values))


def _short(value: Any) -> str:
    if isinstance(value, (str, int)):
        return str(value)
    return ",".join(str(v) for v in sorted(value))
