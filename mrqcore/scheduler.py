"""Periodic jobs: queue a task on a fixed interval, every day at a time, or on a cron spec.

Entries come from the ``scheduler_tasks`` setting (MRQ's ``SCHEDULER_TASKS``)::

    SCHEDULER_TASKS = [
        {"path": "myapp.tasks.Report", "params": {"kind": "daily"}, "dailytime": "03:00"},
        {"path": "myapp.tasks.Ping", "interval": 60, "queue": "fast"},
        {"path": "myapp.tasks.Sync", "cron": "*/5 * * * *"},
    ]

A scheduler runs inside a worker (``mrqc worker --scheduler``) or alone
(``mrqc scheduler``). Several may run at once, for availability: every due
run is queued exactly once, because a scheduler claims it and queues its job
in one store transaction (``store.claim_schedule``; on Redis: WATCH on the
entry's "last due" marker, then MULTI: advance the marker + enqueue). The job
id is derived from (entry, due time), so the enqueue itself is idempotent too.

Due times are absolute, so every scheduler computes the same ones:

* ``interval``: multiples of the interval since the Unix epoch;
* ``dailytime`` ("HH:MM[:SS]", UTC), optionally on one ``weekday`` (0 =
  Monday) or ``monthday`` (1-31; months without that day are skipped);
* ``cron``: the spec's times in UTC (``croniter``).

``timezone`` (an IANA name, e.g. ``"Europe/Paris"``) makes an entry's
``cron`` or ``dailytime`` wall-clock times in that zone (``zoneinfo``), with
daylight saving time read as Celery beat reads it: a time that does not exist
on the day clocks go forward (02:30 when 02:00 jumps to 03:00) runs at the
instant it would have been without the jump (03:30 summer time); a time that
exists twice when clocks go back runs once, at its first occurrence.

Missed runs: a tick queues only the latest due time not yet queued, so a
scheduler back after a long stop queues one catch-up run, not one per missed
period. An entry no scheduler has seen yet runs at once (MRQ's behaviour),
unless it says ``"catch_up": False``: then it first runs at its next due time
(Celery beat's behaviour for crontab entries).

This module only queues jobs; workers run them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from . import serialization
from .config import _suggest
from .exceptions import ConfigError, SerializationError
from .runtime import Runtime, get_runtime
from .scheduler_times import (day_start, format_dailytime, instant, parse_cron, parse_dailytime, parse_interval,
                              parse_timezone, utc, wall_clock, zone_of)
from .store.base import JobSpec

logger = logging.getLogger("mrqc.scheduler")

SETTING = "scheduler_tasks"
ENTRY_KEYS = ("path", "params", "queue", "name", "interval", "dailytime", "weekday", "monthday",
              "cron", "catch_up", "timezone")
TIMINGS = ("interval", "dailytime", "cron")
_DAY = 86400
_JOB_ID_NAMESPACE = uuid.UUID("7f0c1b52-3d55-4c55-9a64-5b0f8e7a2c11")
#: more than any UTC offset change (DST, a zone's redefinition): how far wall-clock order and
#: instant order can disagree around a transition
_SHIFT = dt.timedelta(hours=3)


@dataclass(frozen=True)
class ScheduleEntry:
    """One periodic job. Build it with ``ScheduleEntry.from_dict`` (validates) or directly.

    Exactly one of ``interval`` (seconds), ``dailytime`` (seconds after
    midnight UTC) or ``cron`` is set; ``weekday``/``monthday`` only with
    ``dailytime``. ``id`` is ``name`` if given, else a hash of what the entry
    does and when, so it is the same in every scheduler process.
    """

    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    queue: str | None = None
    interval: float | None = None
    dailytime: float | None = None
    weekday: int | None = None
    monthday: int | None = None
    cron: str | None = None
    name: str | None = None
    catch_up: bool = True
    #: IANA zone of ``cron``/``dailytime`` wall-clock times (None: UTC)
    timezone: str | None = None

    # --- construction -------------------------------------------------------------

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], label: str = "entry") -> "ScheduleEntry":
        """Validate one ``scheduler_tasks`` item; a bad one is a ConfigError naming it and the field."""
        if not isinstance(raw, Mapping):
            raise ConfigError(SETTING, f"{label} must be a dict, got {raw!r}")
        path = raw.get("path")
        where = f"{label} (path {path!r})" if isinstance(path, str) else label

        def bad(name: str, problem: str) -> ConfigError:
            return ConfigError(SETTING, f"{where}: field {name!r} {problem}")

        for key in raw:
            if key not in ENTRY_KEYS:
                raise bad(key, f"is unknown{_suggest(str(key), ENTRY_KEYS)}")
        if not isinstance(path, str) or not path:
            raise bad("path", f"must be a task path (non-empty str), got {path!r}")
        params = raw.get("params") or {}
        if not isinstance(params, Mapping):
            raise bad("params", f"must be a dict, got {params!r}")
        try:
            serialization.dumps_checked(dict(params), "params")
        except SerializationError as exc:
            raise bad("params", f"cannot be stored: {exc}") from None
        for key in ("queue", "name"):
            value = raw.get(key)
            if value is not None and (not isinstance(value, str) or not value):
                raise bad(key, f"must be a non-empty str, got {value!r}")
        catch_up = raw.get("catch_up", True)
        if not isinstance(catch_up, bool):
            raise bad("catch_up", f"must be True or False, got {catch_up!r}")
        timings = [key for key in TIMINGS if raw.get(key) is not None]
        if len(timings) != 1:
            found = ", ".join(timings) if timings else "none"
            raise ConfigError(SETTING, f"{where}: exactly one timing field of 'interval', 'dailytime' "
                                       f"or 'cron' must be set (found: {found})")
        values: dict[str, Any] = {}
        if raw.get("interval") is not None:
            values["interval"] = parse_interval(raw["interval"], bad)
        if raw.get("cron") is not None:
            values["cron"] = parse_cron(raw["cron"], bad)
        if raw.get("dailytime") is not None:
            values["dailytime"] = parse_dailytime(raw["dailytime"], bad)
        for key, low, high in (("weekday", 0, 6), ("monthday", 1, 31)):
            value = raw.get(key)
            if value is None:
                continue
            if "dailytime" not in values:
                raise bad(key, "needs 'dailytime' (the time of day it runs at)")
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise bad(key, f"must be an int from {low} to {high}, got {value!r}")
            values[key] = value
        if "weekday" in values and "monthday" in values:
            raise bad("monthday", "cannot be combined with 'weekday'")
        zone = raw.get("timezone")
        if zone is not None:
            values["timezone"] = parse_timezone(zone, bad)
            if "interval" in values:
                raise bad("timezone", "applies to 'cron' and 'dailytime' (an interval is the same in every zone)")
        return cls(path=path, params=dict(params), queue=raw.get("queue"), name=raw.get("name"),
                   catch_up=catch_up, **values)

    # --- identity -----------------------------------------------------------------

    @property
    def id(self) -> str:
        """Stable identity: ``name``, else a hash of path, params, queue and timing."""
        if self.name:
            return self.name
        spec = {"path": self.path, "params": self.params, "queue": self.queue, "interval": self.interval,
                "dailytime": self.dailytime, "weekday": self.weekday, "monthday": self.monthday,
                "cron": self.cron}
        if self.timezone is not None:  # only when set: ids of existing entries do not change
            spec["timezone"] = self.timezone
        digest = hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
        return f"{self.path}:{digest[:12]}"

    def job_id(self, due: float) -> str:
        """The id of the job queued for the run due at ``due`` (a UUID, the same in every process)."""
        return str(uuid.uuid5(_JOB_ID_NAMESPACE, f"{self.id}@{due:.6f}"))

    def describe(self) -> str:
        """The timing in words, e.g. ``every 60s`` or ``daily at 03:00:00 UTC on weekday 0``."""
        if self.interval is not None:
            return f"every {self.interval:g}s"
        zone = self.timezone or "UTC"
        if self.cron is not None:
            return f"cron {self.cron!r} ({zone})"
        assert self.dailytime is not None
        text = f"daily at {format_dailytime(self.dailytime)} {zone}"
        if self.weekday is not None:
            text += f" on weekday {self.weekday}"
        if self.monthday is not None:
            text += f" on day {self.monthday} of the month"
        return text

    # --- due times ----------------------------------------------------------------

    def next_run_after(self, t: float) -> float:
        """The first due time strictly after ``t`` (epoch seconds)."""
        if self.interval is not None:
            due = (math.floor(t / self.interval) + 1) * self.interval
            return due if due > t else due + self.interval
        if self.timezone is not None:
            return self._local_next(t)
        if self.cron is not None:
            from croniter import croniter
            return float(croniter(self.cron, utc(t)).get_next(float))
        day = utc(t).date()
        for offset in range(0, 400):
            candidate = day + dt.timedelta(days=offset)
            if self._day_matches(candidate):
                due = day_start(candidate) + float(self.dailytime or 0)
                if due > t:
                    return due
        raise ConfigError(SETTING, f"entry {self.id!r} never runs")  # unreachable with valid fields

    def last_run_at_or_before(self, t: float) -> float:
        """The latest due time at or before ``t``: the run a tick at ``t`` should have queued."""
        if self.interval is not None:
            return math.floor(t / self.interval) * self.interval
        if self.timezone is not None:
            return self._local_prev(t)
        if self.cron is not None:
            from croniter import croniter
            return float(croniter(self.cron, utc(math.floor(t) + 1)).get_prev(float))
        day = utc(t).date()
        for offset in range(0, 400):
            candidate = day - dt.timedelta(days=offset)
            if self._day_matches(candidate):
                due = day_start(candidate) + float(self.dailytime or 0)
                if due <= t:
                    return due
        raise ConfigError(SETTING, f"entry {self.id!r} never runs")  # unreachable with valid fields

    # Local wall-clock times (``timezone``): walk the naive wall-clock times the spec names, map
    # each to its instant (fold=0: Celery's reading of skipped and repeated times), keep the
    # nearest one past ``t``. Around a transition wall-clock order and instant order disagree
    # by up to the offset change, so the walk goes on for _SHIFT beyond the first hit.

    def _local_next(self, t: float) -> float:
        zone = zone_of(self.timezone)
        best: tuple[float, dt.datetime] | None = None
        for wall in self._walls(wall_clock(t, zone) - _SHIFT, forward=True):
            if best is not None and wall > best[1] + _SHIFT:
                return best[0]
            due = instant(wall, zone)
            if due > t and (best is None or due < best[0]):
                best = (due, wall)
        raise ConfigError(SETTING, f"entry {self.id!r} never runs")  # unreachable with valid fields

    def _local_prev(self, t: float) -> float:
        zone = zone_of(self.timezone)
        best: tuple[float, dt.datetime] | None = None
        for wall in self._walls(wall_clock(t, zone) + _SHIFT, forward=False):
            if best is not None and wall < best[1] - _SHIFT:
                return best[0]
            due = instant(wall, zone)
            if due <= t and (best is None or due > best[0]):
                best = (due, wall)
        raise ConfigError(SETTING, f"entry {self.id!r} never runs")  # unreachable with valid fields

    def _walls(self, start: dt.datetime, forward: bool) -> Iterable[dt.datetime]:
        """The entry's naive wall-clock times after (or before) ``start``, nearest first (~400 days)."""
        if self.cron is not None:
            from croniter import croniter
            it = croniter(self.cron, start)
            end = start + dt.timedelta(days=400) * (1 if forward else -1)
            while True:
                wall = it.get_next(dt.datetime) if forward else it.get_prev(dt.datetime)
                if (wall > end) if forward else (wall < end):
                    return
                yield wall
        day = start.date()
        step = 1 if forward else -1
        for offset in range(-1, 402):
            candidate = day + dt.timedelta(days=offset * step)
            if self._day_matches(candidate):
                yield dt.datetime.combine(candidate, dt.time()) + dt.timedelta(seconds=float(self.dailytime or 0))

    def _day_matches(self, day: dt.date) -> bool:
        if self.weekday is not None and day.weekday() != self.weekday:
            return False
        if self.monthday is not None and day.day != self.monthday:
            return False
        return True

    def marker_ttl(self, due: float) -> int:
        """Seconds the "last due" marker is kept: several periods, at least a week."""
        period = self.next_run_after(due) - due
        return int(max(7 * _DAY, 3 * period))


def parse_entries(raw: Iterable[Any]) -> list[ScheduleEntry]:
    """Validate a whole ``scheduler_tasks`` list; ConfigError names the bad entry and field."""
    if isinstance(raw, (str, bytes, Mapping)) or not isinstance(raw, Iterable):
        raise ConfigError(SETTING, f"must be a list of dicts, got {raw!r}")
    entries: list[ScheduleEntry] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        entry = item if isinstance(item, ScheduleEntry) else ScheduleEntry.from_dict(item, f"entry [{index}]")
        if entry.id in seen:
            raise ConfigError(SETTING, f"entry [{index}] (path {entry.path!r}) has the same identity as "
                                       f"entry [{seen[entry.id]}] ({entry.id!r}); give one a distinct 'name'")
        seen[entry.id] = index
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class QueuedRun:
    """One run a scheduler queued: which entry, for which due time, under which job id."""

    entry: ScheduleEntry
    due: float
    job_id: str
    queue: str


class Scheduler:
    """Queues due runs of its entries. Safe to run in several processes at once.

    ``tick(now)`` does one pass and returns what this instance queued (tests
    and the Celery beat layer drive it with explicit times); ``run()`` loops
    until ``stop()``; ``service`` is the same loop for ``Worker.add_service``.
    """

    def __init__(self, runtime: Runtime | None = None,
                 entries: Sequence[ScheduleEntry | Mapping[str, Any]] | None = None) -> None:
        self.runtime = runtime or get_runtime()
        raw = self.runtime.config.scheduler_tasks if entries is None else entries
        self.entries: list[ScheduleEntry] = parse_entries(raw)
        self._claimed: dict[str, float] = {}
        self._stop = threading.Event()

    def add_entry(self, entry: ScheduleEntry | Mapping[str, Any]) -> ScheduleEntry:
        """Add one entry (validated); ConfigError if one with the same identity exists."""
        new = parse_entries([*self.entries, entry])[-1]
        self.entries.append(new)
        return new

    def tick(self, now: float | None = None) -> list[QueuedRun]:
        """Queue, for each entry, its latest due run at or before ``now`` if nobody has yet."""
        now = time.time() if now is None else float(now)
        queued = []
        for entry in self.entries:
            due = entry.last_run_at_or_before(now)
            if self._claimed.get(entry.id, -math.inf) >= due:
                continue
            run = self._claim(entry, due, now)
            if run is not None:
                queued.append(run)
                logger.info("scheduler queued %s (%s) due %s as job %s", entry.path, entry.describe(),
                            utc(due).isoformat(), run.job_id)
                self.runtime.metric("scheduler.queued", 1, queue=run.queue, path=entry.path,
                                    entry=entry.id, due=due)
        return queued

    def next_wakeup(self, now: float) -> float | None:
        """The earliest due time after ``now`` over all entries (None without entries)."""
        return min((entry.next_run_after(now) for entry in self.entries), default=None)

    def run(self, poll_interval: float | None = None) -> None:
        """Tick until ``stop()``; sleeps until the next due time, at most ``poll_interval``."""
        poll = float(poll_interval if poll_interval is not None else self.runtime.config.poll_interval)
        logger.info("scheduler running %d entries: %s", len(self.entries),
                    "; ".join(f"{e.id} ({e.describe()})" for e in self.entries))
        while not self._stop.is_set():
            now = time.time()
            try:
                self.tick(now)
            except self.runtime.store.backend_errors as exc:
                logger.warning("scheduler tick failed (%s); retrying", exc)
            nxt = self.next_wakeup(now)
            wait = poll if nxt is None else min(poll, max(0.0, nxt - time.time()))
            self._stop.wait(max(wait, 0.01))

    def service(self) -> None:
        """``Worker.add_service`` target: the ``run`` loop (the worker kills it at stop)."""
        self.run()

    def stop(self) -> None:
        self._stop.set()

    # --- the claim ----------------------------------------------------------------

    def _claim(self, entry: ScheduleEntry, due: float, now: float) -> QueuedRun | None:
        """Advance the entry's marker to ``due`` and queue its job, in one transaction
        (``store.claim_schedule``): if another scheduler moved the marker first, it queued the run."""
        queue = entry.queue or self.runtime.tasks.settings(entry.path).get("queue") \
            or self.runtime.config.default_queue
        job_id = entry.job_id(due)
        claimed, last = self.runtime.store.claim_schedule(
            entry.id, due, entry.marker_ttl(due), [self._spec(entry, due, queue, job_id)], now,
            queue_first=entry.catch_up)
        if not claimed:
            if last is not None:
                self._claimed[entry.id] = last
            return None
        self._claimed[entry.id] = due
        return QueuedRun(entry, due, job_id, queue) if last is not None or entry.catch_up else None

    def _spec(self, entry: ScheduleEntry, due: float, queue: str, job_id: str) -> JobSpec:
        fields = {"path": entry.path, "params": serialization.dumps(dict(entry.params), "params").decode(),
                  "retry_count": "0",
                  "meta": serialization.dumps({"schedule": {"entry": entry.id, "due": due}}, "meta").decode()}
        return JobSpec(job_id, queue, fields)
