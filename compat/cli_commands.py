"""Celery's commands for the ``mrqc`` CLI: ``result``, ``revoke``, ``purge``, ``call``, ``report``,
``shell``, ``events`` and ``list bindings``.

Like ``celery -A proj result <id>``, ``celery -A proj control revoke <id>``,
``celery -A proj purge``..., but read and act on the store directly
(``mrqc inspect``/``mrqc control``, remote control of live workers, are in
``mrqc.cli_control``).
``mrqc status`` (job counts, and the live workers as ``celery status`` lists
them) is mrqcore's (``mrqcore.admin_cli``).
``-A proj`` (default ``$MRQC_APP``) imports the app first: its broker is the
Redis read (``--redis`` overrides it), and its exception classes become
importable, so failures print as their own type. Without an app, the Redis is
mrqc's configured one (``mrqc_config.py``, ``MRQC_REDIS``).

These commands reach the ``mrqc`` CLI through the ``mrqc.cli`` entry point
(pyproject.toml), not an import from mrqcore.
"""
from __future__ import annotations

import json
from typing import Any

import click
from mrqcore.cli import app_option, app_runtime, config_options

from . import cli_celery


def register(cli: click.Group) -> None:
    cli.add_command(result)
    cli.add_command(revoke)
    for command in cli_celery.COMMANDS:
        cli.add_command(command)


def _setup(app: str | None, config_file: str | None, redis: str | None, redis_prefix: str | None) -> Any:
    """The app to read through: ``-A``'s (bound to the command's runtime), else the current/default app."""
    _, celery_app = app_runtime(app, config_file, {"redis": redis, "redis_prefix": redis_prefix})
    if celery_app is not None:
        return celery_app
    from ._state import get_current_app
    return get_current_app()


@click.command()
@click.argument("task_id")
@app_option
@click.option("--traceback", "show_traceback", is_flag=True, help="Print the traceback of a failure.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@config_options
def result(task_id: str, app: str | None, show_traceback: bool, as_json: bool, config_file: str | None,
           redis: str | None, redis_prefix: str | None) -> None:
    """Print the Celery state and result of TASK_ID (exit 1 if there is no such task)."""
    from .result import AsyncResult
    celery_app = _setup(app, config_file, redis, redis_prefix)
    res = AsyncResult(task_id, app=celery_app)
    if not res.exists:
        raise click.ClickException(f"no task with id {task_id!r} (never sent, forgotten, or expired)")
    value = res.result
    data = {"id": task_id, "state": res.state, "mrq_status": res.mrq_status, "name": res.name,
            "result": value if res.successful() else repr(value) if value is not None else None,
            "date_done": res.date_done.isoformat() if res.date_done else None}
    if show_traceback:
        data["traceback"] = res.traceback
    if as_json:
        click.echo(json.dumps(data))
        return
    click.echo(f"{data['state']} ({data['mrq_status']})  {data['name']}")
    click.echo(f"result: {data['result']!r}" if res.successful() else f"info: {data['result']}")
    if show_traceback and res.traceback:
        click.echo(res.traceback)


@click.command()
@click.argument("task_ids", nargs=-1, required=True)
@click.option("--terminate", is_flag=True, help="Also kill it if it is running.")
@app_option
@config_options
def revoke(task_ids: tuple[str, ...], terminate: bool, app: str | None, config_file: str | None,
           redis: str | None, redis_prefix: str | None) -> None:
    """Revoke TASK_IDS: waiting ones never run; running ones are killed with --terminate."""
    from .result import AsyncResult
    celery_app = _setup(app, config_file, redis, redis_prefix)
    for task_id in task_ids:
        res = AsyncResult(task_id, app=celery_app)
        before = res.mrq_status
        res.revoke(terminate=terminate)
        click.echo(f"{task_id}: {before or 'unknown id'} -> {res.mrq_status or 'unknown id'}"
                   + (" (terminate requested)" if terminate and before == "started" else ""))
