"""``mrqc scheduler``: run the periodic-job scheduler on its own (no worker in this process).

The same scheduler runs inside a worker with ``mrqc worker --scheduler``. Run
as many as you like for availability: each due run is queued exactly once
(see ``mrqcore.scheduler``). ``--once`` does a single pass and prints what it
queued, which suits a cron-driven deployment or a quick check of the config.
"""
from __future__ import annotations

import json
import logging
import signal
from typing import Any

import click

from .cli import app_option, build_runtime, config_options, merge_app_settings, open_app


def register(cli: click.Group) -> None:
    cli.add_command(scheduler)


@click.command()
@click.option("--once", is_flag=True, help="Queue what is due now, print it as JSON, exit.")
@click.option("--list", "list_entries", is_flag=True, help="Print the configured entries and their next run, exit.")
@app_option
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING...")
@config_options
def scheduler(once: bool, list_entries: bool, app: str | None, log_level: str | None,
              config_file: str | None, redis: str | None, redis_prefix: str | None) -> None:
    """Queue the periodic jobs of the ``scheduler_tasks`` setting when they are due."""
    overrides: dict[str, Any] = {"redis": redis, "redis_prefix": redis_prefix, "log_level": log_level}
    app_object = open_app(app)  # its broker too: the scheduler queues where the app's workers look
    for key, value in merge_app_settings(app_object, {}).items():
        if key in ("scheduler_tasks", "imports", "tasks", "redis", "redis_prefix") and overrides.get(key) is None:
            overrides[key] = value
    runtime = build_runtime(config_file, overrides, app_object)
    logging.basicConfig(level=runtime.config.log_level.upper(),
                        format="%(asctime)s %(process)d %(name)s [%(levelname)s] %(message)s")
    from .exceptions import ConfigError
    from .scheduler import Scheduler
    for path in runtime.config.imports:
        __import__(path)
    try:
        sched = Scheduler(runtime)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if list_entries:
        import time
        now = time.time()
        click.echo(json.dumps([{"id": e.id, "path": e.path, "queue": e.queue, "timing": e.describe(),
                                "next_run": e.next_run_after(now)} for e in sched.entries], indent=2))
        return
    if once:
        runs = sched.tick()
        click.echo(json.dumps([{"entry": r.entry.id, "path": r.entry.path, "due": r.due, "job_id": r.job_id,
                                "queue": r.queue} for r in runs], indent=2))
        return
    if not sched.entries:
        click.echo("mrqc scheduler: no scheduler_tasks configured; nothing to do", err=True)
    signal.signal(signal.SIGTERM, lambda *_: sched.stop())
    signal.signal(signal.SIGINT, lambda *_: sched.stop())
    sched.run()
