"""Celery beat on mrqcore's scheduler: ``beat_schedule`` and ``add_periodic_task`` entries, converted.

An app's periodic tasks are its ``app.conf.beat_schedule`` dict, where
``app.add_periodic_task(...)`` also puts its entries (as Celery does). Each
entry becomes one mrqcore scheduler entry (see ``mrqcore.scheduler``)::

    {"task": "shop.tasks.report", "schedule": crontab(minute=30, hour=2),
     "args": ("eu",), "kwargs": {}, "options": {"queue": "reports"}}
    ->
    {"name": "nightly-report", "path": "shop.tasks.report",
     "params": {"args": ["eu"], "kwargs": {}}, "cron": "30 2 * * *",
     "queue": "reports", "catch_up": False}

Timings: a number, a ``timedelta`` or ``schedule(run_every)`` becomes an
``interval``; a ``crontab`` becomes a ``cron`` expression. Like Celery beat,
an entry first runs at its next due time (``catch_up=False``), not at start.

Who runs them: ``mrqc beat -A proj`` (a scheduler process, like
``celery -A proj beat``), or ``mrqc worker -A proj --scheduler`` (inside a
worker, like ``celery worker -B``); the app's ``mrqc_worker_options()`` hands
the converted entries to the worker as its ``scheduler_tasks``. Any number of
either may run: each due run is queued exactly once (mrqcore's scheduler
claims runs in Redis), so there is no beat state file and no single-beat rule.

Differences from Celery beat, checked here with errors that name the entry:

* crontab times are read in the app's ``timezone`` (any IANA name; unset:
  UTC, as Celery with ``enable_utc``): the entry carries it to mrqcore's
  scheduler, which handles daylight saving time as Celery beat does (a time
  skipped when clocks go forward runs an hour later, a repeated one once);
* ``options`` other than ``queue`` (``expires``, ``priority``,
  ``routing_key``...) are not applied to scheduled runs; they are logged once;
* a custom ``beat_scheduler`` (django-celery-beat's database scheduler) is
  not read: entries come from the app's configuration only.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
from typing import Any, Iterable, Mapping

import click

from .schedules import crontab, schedule

logger = logging.getLogger("mrqc.beat")

__all__ = ("scheduler_tasks", "entry_to_scheduler_task", "timing_of", "register", "beat")

#: entry keys Celery defines (others are a typo and raise)
ENTRY_KEYS = ("task", "schedule", "args", "kwargs", "options", "relative", "name")
#: apply_async options that are applied to scheduled runs
APPLIED_OPTIONS = ("queue",)
_UTC_NAMES = {None, "", "UTC", "utc", "Etc/UTC", "GMT", "Etc/GMT", "Z"}


def scheduler_tasks(app: Any) -> list[dict[str, Any]]:
    """The app's periodic tasks as mrqcore ``scheduler_tasks`` entries (validated by the scheduler).

    Reads ``app.conf.beat_schedule`` (reading the configuration first fires
    ``on_after_configure``, whose handlers may call ``add_periodic_task``).
    Raises ``ImproperlyConfigured`` naming the entry that cannot be converted.
    """
    from .exceptions import ImproperlyConfigured
    beat_schedule = _beat_schedule(app)
    if not isinstance(beat_schedule, Mapping):
        raise ImproperlyConfigured(f"beat_schedule must be a dict of entries, got {beat_schedule!r}")
    entries = [entry_to_scheduler_task(name, entry) for name, entry in beat_schedule.items()]
    zone = app_timezone(app)
    if zone is not None:
        for entry in entries:
            if "cron" in entry:
                entry["timezone"] = zone
    return entries


def app_timezone(app: Any) -> str | None:
    """The IANA name of the app's ``timezone``, None for UTC (or unset: Celery's UTC with ``enable_utc``)."""
    timezone = _conf_get(app, "timezone")
    zone = getattr(timezone, "key", None) or getattr(timezone, "zone", None) or timezone
    return None if zone in _UTC_NAMES else str(zone)


def entry_to_scheduler_task(name: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """One ``beat_schedule`` entry -> one mrqcore scheduler entry. ImproperlyConfigured names what is wrong."""
    from .exceptions import ImproperlyConfigured

    def bad(problem: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"beat_schedule entry {name!r}: {problem}")

    if not isinstance(entry, Mapping):
        raise bad(f"must be a dict with 'task' and 'schedule', got {entry!r}")
    unknown = [key for key in entry if key not in ENTRY_KEYS]
    if unknown:
        raise bad(f"unknown key(s) {unknown}; an entry has {', '.join(ENTRY_KEYS)}")
    task = entry.get("task")
    if not isinstance(task, str) or not task:
        raise bad(f"'task' must be a task name (str), got {task!r}")
    if "schedule" not in entry:
        raise bad("has no 'schedule'")
    args = entry.get("args") or ()
    kwargs = entry.get("kwargs") or {}
    if isinstance(args, (str, bytes)) or not isinstance(args, Iterable):
        raise bad(f"'args' must be a list or tuple, got {args!r}")
    if not isinstance(kwargs, Mapping):
        raise bad(f"'kwargs' must be a dict, got {kwargs!r}")
    options = dict(entry.get("options") or {})
    ignored = sorted(key for key in options if key not in APPLIED_OPTIONS)
    if ignored:
        logger.warning("beat_schedule entry %r: options %s are not applied to scheduled runs (only %s)",
                       name, ignored, ", ".join(APPLIED_OPTIONS))
    try:
        timing = timing_of(entry["schedule"])
    except (TypeError, ValueError) as exc:
        raise bad(str(exc)) from None
    out: dict[str, Any] = {"name": str(name), "path": task, "params": job_params(list(args), dict(kwargs)),
                           "catch_up": False, **timing}
    if options.get("queue"):
        out["queue"] = _queue_name(options["queue"])
    return out


def timing_of(value: Any) -> dict[str, Any]:
    """``{"interval": seconds}`` or ``{"cron": "m h dom mon dow"}`` for a Celery schedule value."""
    if isinstance(value, bool):
        raise TypeError(f"'schedule' must be seconds, a timedelta, schedule() or crontab(), got {value!r}")
    if isinstance(value, (int, float)):
        if value <= 0:
            raise ValueError(f"'schedule' must be a positive number of seconds, got {value!r}")
        return {"interval": float(value)}
    if isinstance(value, dt.timedelta):
        return timing_of(value.total_seconds())
    if isinstance(value, schedule):
        return {"interval": value.seconds}
    if isinstance(value, crontab):
        return {"cron": value.to_cron()}
    kind = f"{type(value).__module__}.{type(value).__name__}"
    if kind.startswith("celery."):
        raise TypeError(f"'schedule' is a {kind}: import crontab/schedule from mrqc.schedules, not celery")
    raise TypeError(f"'schedule' must be seconds, a timedelta, mrqc.schedules.schedule() or crontab(), "
                    f"got {value!r}")


def job_params(args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The params of the job a scheduled run queues: the Celery task's args and kwargs."""
    return {"args": args, "kwargs": kwargs}


# --- the `mrqc beat` command ------------------------------------------------------------


def register(cli: click.Group) -> None:
    """Add ``mrqc beat`` to the ``mrqc`` command (the ``mrqc.cli`` entry point ``beat``)."""
    cli.add_command(beat)


def _config_options(func: Any) -> Any:
    from mrqcore.cli import config_options
    return config_options(func)


@click.command()
@click.option("--app", "-A", "app_spec", required=True, envvar="MRQC_APP",
              help="The Celery app: module or module:attr (default: $MRQC_APP).")
@click.option("--loglevel", "-l", "log_level", default=None, help="DEBUG, INFO, WARNING...")
@click.option("--schedule", "-s", "schedule_file", default=None,
              help="Accepted for Celery compatibility; beat state lives in Redis, no file is written.")
@click.option("--max-interval", type=float, default=None, help="Seconds between schedule checks at most.")
@click.option("--once", is_flag=True, help="Queue what is due now, print it, exit (mrqc extension).")
@_config_options
def beat(app_spec: str, log_level: str | None, schedule_file: str | None, max_interval: float | None,
         once: bool, config_file: str | None, redis: str | None, redis_prefix: str | None) -> None:
    """Queue the app's periodic tasks when due (``celery -A proj beat``)."""
    from mrqcore.cli import build_runtime
    from mrqcore.exceptions import ConfigError
    from mrqcore.scheduler import Scheduler
    from .exceptions import ImproperlyConfigured

    app = find_app(app_spec)
    options = dict(app.mrqc_worker_options()) if hasattr(app, "mrqc_worker_options") else {}
    try:
        entries = scheduler_tasks(app)
    except ImproperlyConfigured as exc:
        raise click.UsageError(str(exc)) from exc
    overrides = {key: options.get(key) for key in ("redis", "redis_prefix", "imports", "tasks", "log_level")}
    overrides.update({"scheduler_tasks": entries})
    for key, value in (("redis", redis), ("redis_prefix", redis_prefix), ("log_level", log_level)):
        if value is not None:
            overrides[key] = value
    runtime = build_runtime(config_file, overrides, app)  # the app's runtime is the scheduler's
    logging.basicConfig(level=runtime.config.log_level.upper(),
                        format="%(asctime)s %(process)d %(name)s [%(levelname)s] %(message)s")
    try:
        sched = Scheduler(runtime)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if once:
        for run in sched.tick():
            click.echo(f"{run.entry.id}: queued {run.entry.path} as {run.job_id} on {run.queue}")
        return
    logger.info("beat: %d periodic tasks: %s", len(sched.entries),
                "; ".join(f"{e.id} ({e.describe()})" for e in sched.entries))
    signal.signal(signal.SIGTERM, lambda *_: sched.stop())
    signal.signal(signal.SIGINT, lambda *_: sched.stop())
    sched.run(poll_interval=max_interval)


def find_app(spec: str) -> Any:
    """Import ``module[:attr]`` and return the app (an object with ``conf``), as ``celery -A`` does."""
    from mrqcore.cli import find_app as find_app_object
    return find_app_object(spec, lambda obj: hasattr(obj, "conf"))


def _beat_schedule(app: Any) -> Any:
    finalize = getattr(app, "finalize", None)
    if callable(finalize):
        finalize()  # sends on_after_configure, where projects call add_periodic_task
    return _conf_get(app, "beat_schedule") or {}


def _conf_get(app: Any, name: str) -> Any:
    conf = app.conf
    try:
        return conf[name]
    except (KeyError, TypeError):
        return getattr(conf, name, None)


def _queue_name(queue: Any) -> str:
    return queue if isinstance(queue, str) else str(getattr(queue, "name", queue))
