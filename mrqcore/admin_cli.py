"""Admin commands: ``mrqc status | queues | workers | ping | jobs | job | requeue | cancel | pause | resume |
recover``.

Each prints a short table, or with ``--json`` one JSON document (the shapes
are documented in docs/admin.md and come straight from ``mrqcore.admin``).
Job filters (``--status --queue --path --exceptiontype --worker``) may be
repeated (any of the values matches) and take globs (``--path 'app.*'``).
Every command takes ``-A APP`` (default ``$MRQC_APP``): the app's broker is
the Redis it reads and acts on.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

import click

from .cli import app_option, app_runtime, config_options

FILTER_NAMES = ("status", "queue", "path", "exceptiontype", "worker")


def register(cli: click.Group) -> None:
    for command in (status, queues, workers, ping, jobs, job, requeue, cancel, pause, resume, recover):
        cli.add_command(command)


def _json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def _filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for name in reversed(FILTER_NAMES):
        func = click.option(f"--{name}", name, multiple=True, metavar="VALUE",
                            help=f"Only jobs with this {name} (repeatable; globs allowed).")(func)
    return func


def _runtime(app: str | None, config_file: str | None, redis: str | None, redis_prefix: str | None) -> Any:
    """The command's runtime: ``-A`` app's broker, unless ``--redis``/``--redis-prefix`` say otherwise."""
    return app_runtime(app, config_file, {"redis": redis, "redis_prefix": redis_prefix})[0]


def _filters(values: dict[str, Any]) -> dict[str, list[str] | None]:
    return {name: list(values[name]) or None for name in FILTER_NAMES}


def _emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        human()


def _table(rows: list[list[Any]], header: list[str]) -> None:
    cells = [header] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else ""


@click.command()
@_json_option
@app_option
@config_options
def status(as_json: bool, app: str | None, config_file: str | None, redis: str | None,
           redis_prefix: str | None) -> None:
    """Job counts by queue and status, then the live workers (as ``celery status`` lists its nodes)."""
    from .admin import list_workers, status_counts
    runtime = _runtime(app, config_file, redis, redis_prefix)
    data = status_counts(runtime=runtime)

    def human() -> None:
        statuses = sorted(data["by_status"])
        rows = [[queue] + [counts.get(s, 0) for s in statuses] for queue, counts in data["by_queue"].items()]
        rows.append(["(all)"] + [data["by_status"][s] for s in statuses])
        _table(rows, ["queue"] + statuses)
        click.echo(f"{data['total']} jobs")
        live = _live(list_workers(runtime=runtime))
        for w in live:
            click.echo(f"{w['id']}: OK")
        click.echo(f"{len(live)} node{'s' if len(live) != 1 else ''} online.")

    _emit(as_json, data, human)


@click.command()
@_json_option
@app_option
@config_options
def queues(as_json: bool, app: str | None, config_file: str | None, redis: str | None,
           redis_prefix: str | None) -> None:
    """Known queues with their size, paused state and raw kind."""
    from .admin import list_queues
    data = list_queues(runtime=_runtime(app, config_file, redis, redis_prefix))
    _emit(as_json, data, lambda: _table(
        [[q["name"], q["size"], "paused" if q["paused"] else "", q["kind"] or ""] for q in data],
        ["queue", "size", "paused", "raw kind"]))


@click.command()
@_json_option
@app_option
@config_options
def workers(as_json: bool, app: str | None, config_file: str | None, redis: str | None,
            redis_prefix: str | None) -> None:
    """Workers with a heartbeat entry (alive or lost)."""
    from .admin import list_workers
    data = list_workers(runtime=_runtime(app, config_file, redis, redis_prefix))
    _emit(as_json, data, lambda: _table(
        [[w["id"], "alive" if w["alive"] else "LOST", w["status"], ",".join(w["queues"]), w["inflight"],
          w["jobs_done"], _when(w["last_heartbeat"])] for w in data],
        ["worker", "state", "status", "queues", "inflight", "done", "last heartbeat (UTC)"]))


@click.command()
@click.option("--queue", "serving", default=None, help="Only workers serving this queue count.")
@_json_option
@app_option
@config_options
def ping(serving: str | None, as_json: bool, app: str | None, config_file: str | None, redis: str | None,
         redis_prefix: str | None) -> None:
    """Exit 0 if a live worker answers (a fresh heartbeat in the store), else print why and exit 1.

    Like ``celery inspect ping``, for health checks: a worker is live while its
    heartbeat is younger than ``worker_lost_after`` and it has not stopped.
    """
    from .admin import list_workers
    runtime = _runtime(app, config_file, redis, redis_prefix)
    try:
        found = list_workers(runtime=runtime)
    except runtime.store.backend_errors as exc:
        raise click.ClickException(f"the store does not answer: {exc}") from exc
    live = _live(found, serving)
    data = {"ok": bool(live), "workers": [{"id": w["id"], "host": w["host"], "pid": w["pid"],
                                           "last_heartbeat": w["last_heartbeat"]} for w in live]}
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        for w in live:
            click.echo(f"{w['id']}: pong (heartbeat {max(0.0, time.time() - w['last_heartbeat']):.1f}s ago)")
    if not live:
        where = f" serving {serving!r}" if serving else ""
        raise click.ClickException(f"no live worker{where} answered ({len(found)} registered, none with a "
                                   f"heartbeat in the last {runtime.config.worker_lost_after:g}s)")


def _live(found: list[dict[str, Any]], serving: str | None = None) -> list[dict[str, Any]]:
    """The workers of ``list_workers`` that answer: a fresh heartbeat, not stopped (serving ``serving``)."""
    return [w for w in found if w["alive"] and w["status"] != "stopped"
            and (serving is None or serving in w["queues"])]


@click.command()
@_filter_options
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many (0: all).")
@click.option("--logs", "log_count", type=int, default=0, metavar="N",
              help="Also print the last N stored log lines of each job.")
@_json_option
@app_option
@config_options
def jobs(limit: int, log_count: int, as_json: bool, app: str | None, config_file: str | None, redis: str | None,
         redis_prefix: str | None, **filters: Any) -> None:
    """Jobs matching the filters, most recently updated first, with their progress."""
    from .admin import find_jobs
    runtime = _runtime(app, config_file, redis, redis_prefix)
    data = find_jobs(**_filters(filters), limit=limit or None, runtime=runtime)
    progress = runtime.store.get_many([j["id"] for j in data], ["progress"]) if data else []
    for row, extra in zip(data, progress):
        row["progress"] = _progress((extra or {}).get("progress"))
        if log_count > 0:
            row["log_lines"] = runtime.store.log_lines(row["id"])[-log_count:]

    def human() -> None:
        _table([[j["id"], j.get("status"), j.get("queue"), j.get("path"), _percent(j["progress"]),
                 j.get("exceptiontype") or "", _when(j.get("dateupdated"))] for j in data],
               ["id", "status", "queue", "path", "progress", "exceptiontype", "updated (UTC)"])
        for j in data:
            if j.get("log_lines"):
                click.echo(f"--- {j['id']} (last {len(j['log_lines'])} log lines)")
                for line in j["log_lines"]:
                    click.echo(f"  {line}")

    _emit(as_json, data, human)


@click.command()
@click.argument("job_id")
@click.option("--traceback/--no-traceback", "show_traceback", default=True, help="Print the last traceback.")
@_json_option
@app_option
@config_options
def job(job_id: str, show_traceback: bool, as_json: bool, app: str | None, config_file: str | None,
        redis: str | None, redis_prefix: str | None) -> None:
    """One job: its record, progress and stored log lines (exit 1 if there is no such job)."""
    from .job import decode_record
    runtime = _runtime(app, config_file, redis, redis_prefix)
    record = runtime.store.get(job_id)
    if record is None:
        raise click.ClickException(f"no job with id {job_id!r} (never queued, or its record expired)")
    data = {key: value for key, value in decode_record(record, errors=[]).items() if key != "traceback_history"}
    data["id"] = job_id
    data["progress"] = _progress(record.get("progress"))
    data["log_lines"] = runtime.store.log_lines(job_id)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    click.echo(f"job {job_id}: {data.get('status')}  {data.get('path')}  queue {data.get('queue')}")
    click.echo(f"progress: {_percent(data['progress'])}   retries: {data.get('retry_count') or 0}"
               f"   worker: {data.get('worker') or ''}")
    for name in ("datequeued", "datestarted", "datedone"):
        if record.get(name):
            click.echo(f"{name[4:]}: {_when(float(record[name]))} UTC")
    if record.get("params"):
        click.echo(f"params: {record['params']}")
    if record.get("exceptiontype"):
        click.echo(f"exception: {record['exceptiontype']}")
    if show_traceback and record.get("traceback"):
        click.echo(record["traceback"].rstrip())
    click.echo(f"log ({len(data['log_lines'])} lines):")
    for line in data["log_lines"]:
        click.echo(f"  {line}")


def _progress(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


@click.command()
@_filter_options
@click.option("--limit", type=int, default=0, help="At most this many (default: all that match).")
@_json_option
@app_option
@config_options
def requeue(limit: int, as_json: bool, app: str | None, config_file: str | None, redis: str | None,
            redis_prefix: str | None, **filters: Any) -> None:
    """Queue the matching jobs again (queued and started ones are skipped)."""
    from .admin import requeue_jobs
    try:
        data = requeue_jobs(**_filters(filters), limit=limit or None,
                            runtime=_runtime(app, config_file, redis, redis_prefix))
    except ValueError as exc:
        raise click.UsageError(f"{exc} (e.g. --status failed)") from exc
    _emit(as_json, data, lambda: click.echo(
        f"requeued {len(data['requeued'])} jobs, skipped {len(data['skipped'])}"))


@click.command()
@_filter_options
@click.option("--limit", type=int, default=0, help="At most this many (default: all that match).")
@_json_option
@app_option
@config_options
def cancel(limit: int, as_json: bool, app: str | None, config_file: str | None, redis: str | None,
           redis_prefix: str | None, **filters: Any) -> None:
    """Cancel the matching jobs (queued/retry: never run; started: marked only)."""
    from .admin import cancel_jobs
    try:
        data = cancel_jobs(**_filters(filters), limit=limit or None,
                           runtime=_runtime(app, config_file, redis, redis_prefix))
    except ValueError as exc:
        raise click.UsageError(f"{exc} (e.g. --queue NAME)") from exc
    _emit(as_json, data, lambda: click.echo(
        f"cancelled {len(data['cancelled'])} jobs, {len(data['cancel_requested'])} running ones marked, "
        f"skipped {len(data['skipped'])}"))


@click.command()
@click.argument("queue")
@_json_option
@app_option
@config_options
def pause(queue: str, as_json: bool, app: str | None, config_file: str | None, redis: str | None,
          redis_prefix: str | None) -> None:
    """Stop workers from taking jobs from QUEUE (running jobs go on; queueing still works)."""
    from .queues import pause_queue, paused_queues
    runtime = _runtime(app, config_file, redis, redis_prefix)
    try:
        pause_queue(queue, runtime=runtime)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="QUEUE") from exc
    data = {"paused": paused_queues(runtime=runtime)}
    _emit(as_json, data, lambda: click.echo(f"paused {queue}"))


@click.command()
@click.argument("queue")
@_json_option
@app_option
@config_options
def resume(queue: str, as_json: bool, app: str | None, config_file: str | None, redis: str | None,
           redis_prefix: str | None) -> None:
    """Let workers take jobs from QUEUE again."""
    from .queues import paused_queues, resume_queue
    runtime = _runtime(app, config_file, redis, redis_prefix)
    try:
        resume_queue(queue, runtime=runtime)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="QUEUE") from exc
    data = {"paused": paused_queues(runtime=runtime)}
    _emit(as_json, data, lambda: click.echo(f"resumed {queue}"))


@click.command()
@_json_option
@app_option
@config_options
def recover(as_json: bool, app: str | None, config_file: str | None, redis: str | None,
            redis_prefix: str | None) -> None:
    """Run one full recovery pass now (workers do this by themselves every few seconds)."""
    from .maintenance import recover as run_recovery
    report = run_recovery(_runtime(app, config_file, redis, redis_prefix), full=True).to_dict()
    _emit(as_json, report, lambda: click.echo(
        f"lost workers: {len(report['lost_workers'])}, requeued lost jobs: {len(report['requeued_lost'])}, "
        f"requeued interrupted jobs: {len(report['requeued_interrupted'])}, "
        f"cleaned: {report['cleaned_inflight'] + report['cleaned_scheduled']}"))
