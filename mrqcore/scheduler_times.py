"""Times of the scheduler's entries: parsing their fields, and wall clocks in a time zone.

``mrqcore.scheduler`` computes due times with these. A zone's wall-clock time
maps to an instant with ``fold=0`` (``_instant``): a time skipped when clocks
go forward reads with the offset before the jump, a repeated one as its first
occurrence, as Celery beat reads them.
"""
from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from typing import Any

def parse_interval(value: Any, bad: Any) -> float:
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        raise bad("interval", f"must be a positive number of seconds, got {value!r}")
    return float(value)


def parse_cron(value: Any, bad: Any) -> str:
    from croniter import croniter
    if not isinstance(value, str) or not croniter.is_valid(value):
        raise bad("cron", f"must be a cron spec like '*/5 * * * *', got {value!r}")
    return value


def parse_timezone(value: Any, bad: Any) -> str:
    name = getattr(value, "key", None) or getattr(value, "zone", None) or value  # a ZoneInfo, a pytz zone
    if not isinstance(name, str) or not name:
        raise bad("timezone", f"must be an IANA time zone name like 'Europe/Paris', got {value!r}")
    try:
        zone_of(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise bad("timezone", f"{name!r} is not a known IANA time zone (e.g. 'Europe/Paris', "
                              "'America/New_York', 'UTC')") from None
    return name


def zone_of(name: str | None) -> dt.tzinfo:
    return zoneinfo.ZoneInfo(name) if name else dt.timezone.utc


def wall_clock(t: float, zone: dt.tzinfo) -> dt.datetime:
    """The naive wall-clock time in ``zone`` at instant ``t``."""
    return dt.datetime.fromtimestamp(t, zone).replace(tzinfo=None)


def instant(wall: dt.datetime, zone: dt.tzinfo) -> float:
    """The instant of a naive wall-clock time in ``zone``: a skipped time reads with the offset
    before the jump, a repeated one as its first occurrence (fold=0), as Celery beat reads them."""
    return wall.replace(tzinfo=zone, fold=0).timestamp()


def parse_dailytime(value: Any, bad: Any) -> float:
    if isinstance(value, dt.time):
        return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
    problem = f"must be 'HH:MM' or 'HH:MM:SS' (UTC), got {value!r}"
    if not isinstance(value, str):
        raise bad("dailytime", problem)
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise bad("dailytime", problem)
    hour, minute, second = (int(p) for p in (parts + ["0"])[:3])
    if hour > 23 or minute > 59 or second > 59:
        raise bad("dailytime", problem)
    return float(hour * 3600 + minute * 60 + second)


def format_dailytime(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, tz=dt.timezone.utc)


def day_start(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()
