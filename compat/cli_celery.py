"""Celery's everyday commands on the ``mrqc`` CLI: ``purge``, ``call``, ``report``, ``shell``, ``events``, ``list``.

| command | Celery's | mrqc |
|---|---|---|
| ``mrqc -A proj purge [-Q a,b] [-X c] [-f]`` | ``celery purge`` | empties the app's queues, prints the counts |
| ``mrqc -A proj call NAME --args '[..]'`` | ``celery call`` | ``app.send_task``; prints the id |
| ``mrqc -A proj report`` | ``celery report`` | versions, then the app's settings censored (``conf.humanize()``) |
| ``mrqc -A proj shell`` | ``celery shell`` | a Python console with ``app``, ``celery``, the canvas names, the tasks |
| ``mrqc -A proj events`` | ``celery events`` (dump mode) | one line per job event, read from the store's job index |
| ``mrqc list bindings`` | ``celery list bindings`` | an error: Redis queues have no exchange bindings |

Every command takes ``-A`` (before or after the command name, or ``$MRQC_APP``),
``--config``, ``--redis`` and ``--redis-prefix``. ``purge``, ``call`` and
``report`` without a Celery app use mrqc's configured queues and the default app.
Reached through the ``mrqc.cli`` entry point (``mrqc.cli_commands:register``).
"""
from __future__ import annotations

import code
import json
import platform
import sys
import time
from typing import Any, Iterator

import click
from mrqcore.cli import app_option, app_runtime, config_options
from mrqcore.status import JobStatus

#: the Celery event name a job's status change reads as, in ``mrqc events``
EVENT_NAMES: dict[str, str] = {
    "queued": "task-sent", "started": "task-started", "success": "task-succeeded", "failed": "task-failed",
    "timeout": "task-failed", "maxretries": "task-failed", "interrupt": "task-failed", "retry": "task-retried",
    "cancel": "task-revoked", "abort": "task-revoked",
}
#: record fields ``mrqc events`` reads from the job index
EVENT_FIELDS = ("path", "queue", "status", "dateupdated", "exceptiontype", "worker")


def _open(app: str | None, config_file: str | None, redis: str | None, redis_prefix: str | None) -> tuple[Any, Any]:
    """``(runtime, celery app or None)`` of the command (``-A``'s app bound to the command's runtime)."""
    return app_runtime(app, config_file, {"redis": redis, "redis_prefix": redis_prefix})


def _split(values: tuple[str, ...]) -> list[str]:
    names = [part.strip() for value in values for part in value.split(",")]
    if not all(names):
        raise click.UsageError(f"an empty queue name in {', '.join(values)!r} (write -Q a,b)")
    return list(dict.fromkeys(names))


# --- purge -------------------------------------------------------------------------------

@click.command()
@click.option("--queues", "-Q", "queues", multiple=True, metavar="A,B",
              help="Only these queues (default: the app's queues, else the configured ones).")
@click.option("--exclude-queues", "-X", "exclude", multiple=True, metavar="A,B", help="Leave these queues.")
@click.option("--force", "-f", is_flag=True, help="Do not ask for confirmation.")
@app_option
@config_options
def purge(queues: tuple[str, ...], exclude: tuple[str, ...], force: bool, app: str | None,
          config_file: str | None, redis: str | None, redis_prefix: str | None) -> None:
    """Remove every waiting task from the queues (running and scheduled ones stay), as ``celery purge``."""
    runtime, celery_app = _open(app, config_file, redis, redis_prefix)
    names = _split(queues) if queues else (celery_app._worker_queues() if celery_app is not None
                                           else list(runtime.config.queues))
    skipped = set(_split(exclude)) if exclude else set()
    names = [name for name in names if name not in skipped]
    if not names:
        raise click.UsageError("no queue to purge (every queue is excluded)")
    if not force:
        click.confirm(f"Purge every waiting task from {len(names)} queue(s): {', '.join(names)}?",
                      abort=True, err=True)
    counts = {name: runtime.store.purge_queue(name) for name in names}
    total = sum(counts.values())
    for name, count in counts.items():
        click.echo(f"{name}: {count} purged")
    if total:
        click.echo(f"Purged {total} message{'s' if total != 1 else ''} from {len(names)} known task queue"
                   f"{'s' if len(names) != 1 else ''}.")
    else:
        click.echo(f"No messages purged from {len(names)} queue{'s' if len(names) != 1 else ''}.")


# --- call --------------------------------------------------------------------------------

@click.command()
@click.argument("name")
@click.option("--args", "-a", "args_json", default="[]", help="Positional arguments, a JSON list.")
@click.option("--kwargs", "-k", "kwargs_json", default="{}", help="Keyword arguments, a JSON object.")
@click.option("--countdown", type=float, default=None, help="Run no sooner than this many seconds from now.")
@click.option("--eta", default=None, help="Run no sooner than this ISO 8601 time.")
@click.option("--expires", default=None, help="Seconds from now, or an ISO 8601 time, after which it is revoked.")
@click.option("--queue", "-Q", "queue", default=None, help="Queue to send to (default: the task's route).")
@app_option
@config_options
def call(name: str, args_json: str, kwargs_json: str, countdown: float | None, eta: str | None,
         expires: str | None, queue: str | None, app: str | None, config_file: str | None, redis: str | None,
         redis_prefix: str | None) -> None:
    """Send task NAME (as ``celery call``) and print its id."""
    args = _json_param(args_json, list, "--args", "a JSON list")
    kwargs = _json_param(kwargs_json, dict, "--kwargs", "a JSON object")
    options: dict[str, Any] = {"countdown": countdown}
    if eta:
        options["eta"] = _iso_time(eta, "--eta")
    if expires:
        try:
            options["expires"] = float(expires)
        except ValueError:
            options["expires"] = _iso_time(expires, "--expires")
    if queue:
        options["queue"] = queue
    celery_app = _celery_app(*_open(app, config_file, redis, redis_prefix))
    if name not in celery_app.tasks:
        click.echo(f"note: {name!r} is not a task of this app; sent anyway (a worker that knows it runs it)",
                   err=True)
    from mrqcore.exceptions import MrqcError
    try:
        sent = celery_app.send_task(name, args=args, kwargs=kwargs, **options)
    except MrqcError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(sent.id)


def _json_param(text: str, kind: type, flag: str, what: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint=flag) from exc
    if not isinstance(value, kind):
        raise click.BadParameter(f"must be {what}, got {text!r}", param_hint=flag)
    return value


def _iso_time(text: str, flag: str) -> Any:
    from datetime import datetime
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint=flag) from exc


def _celery_app(runtime: Any, celery_app: Any) -> Any:
    """``-A``'s app, else the current (default) app, which uses the command's runtime."""
    if celery_app is not None:
        return celery_app
    from ._state import get_current_app
    return get_current_app()


# --- report ------------------------------------------------------------------------------

@click.command()
@app_option
@config_options
def report(app: str | None, config_file: str | None, redis: str | None, redis_prefix: str | None) -> None:
    """Versions and the app's settings (secrets censored), to paste in a bug report, as ``celery report``."""
    import importlib.metadata
    runtime, celery_app = _open(app, config_file, redis, redis_prefix)
    versions = []
    for package in ("mrqc", "redis", "gevent", "click"):
        try:
            versions.append(f"{package}:{importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package}:(not installed)")
    click.echo(f"software -> {' '.join(versions)} py:{platform.python_version()} "
               f"({platform.python_implementation()})")
    click.echo(f"platform -> system:{platform.system()} arch:{platform.machine()} release:{platform.release()}")
    store = type(runtime.store).__name__
    click.echo(f"store -> {store} prefix:{runtime.config.redis_prefix!r}")
    if celery_app is None:
        click.echo("app -> (none: give -A proj to see its settings)")
        return
    click.echo(f"app -> {celery_app.main or '(unnamed)'}")
    click.echo("")
    click.echo(celery_app.conf.humanize(with_defaults=False, censored=True))


# --- shell -------------------------------------------------------------------------------

@click.command()
@click.option("--python", "plain", is_flag=True, help="Accepted: the console is always plain Python.")
@click.option("--without-tasks", "-T", is_flag=True, help="Do not add the tasks to the namespace.")
@app_option
@config_options
def shell(plain: bool, without_tasks: bool, app: str | None, config_file: str | None, redis: str | None,
          redis_prefix: str | None) -> None:
    """A Python console with the app as ``app`` and ``celery``, the canvas names and each task by name."""
    runtime, celery_app = _open(app, config_file, redis, redis_prefix)
    celery_app = _celery_app(runtime, celery_app)
    from . import canvas
    namespace: dict[str, Any] = {"app": celery_app, "celery": celery_app, "Task": celery_app.Task,
                                 "signature": canvas.signature, "chain": canvas.chain, "group": canvas.group,
                                 "chord": canvas.chord}
    if not without_tasks:
        celery_app.finalize()
        for task_name, task in celery_app.tasks.items():
            if not task_name.startswith("celery."):
                namespace.setdefault(task_name.rsplit(".", 1)[-1], task)
    banner = (f"mrqc shell: app={celery_app.main or '(unnamed)'!s}; names: "
              f"{', '.join(sorted(namespace))}")
    code.interact(banner=banner, local=namespace, exitmsg="")


# --- events ------------------------------------------------------------------------------

@click.command()
@click.option("--max-events", type=click.IntRange(min=1), default=None, help="Exit after printing this many.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, help="Exit after this many seconds.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=0.5, show_default=True,
              help="Seconds between two reads of the store.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@app_option
@config_options
def events(max_events: int | None, timeout: float | None, interval: float, as_json: bool, app: str | None,
           config_file: str | None, redis: str | None, redis_prefix: str | None) -> None:
    """Print job events as they happen (sent, started, succeeded, failed...), as ``celery events --dump``.

    Read from the store's job index every ``--interval`` seconds: the newest
    jobs' status changes, and every job that reached a final status or
    ``retry``. Events older than the command are not printed; a status that
    came and went between two reads (a short ``started``) may be skipped, but a
    job first seen past ``queued`` is printed as sent first.
    """
    runtime, _ = _open(app, config_file, redis, redis_prefix)
    watcher = EventWatcher(runtime.store)
    list(watcher.poll())  # the first read records what is there: history, not events
    click.echo("mrqc events: watching the store's job index (Ctrl-C to stop)", err=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    printed = 0
    while True:
        for event in watcher.poll():
            click.echo(json.dumps(event) if as_json else _event_line(event))
            printed += 1
            if max_events is not None and printed >= max_events:
                return
        sys.stdout.flush()
        if deadline is not None and time.monotonic() >= deadline:
            return
        time.sleep(interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic())))


class EventWatcher:
    """Turns the job index into events: each ``poll()`` yields the status changes seen since the last one.

    The first poll only records what is there (history is not an event).
    """

    #: newest entries read per index per poll
    PAGE = 200

    def __init__(self, store: Any) -> None:
        self.store = store
        self.seen: dict[str, str] = {}
        self._primed = False

    def poll(self) -> Iterator[dict[str, Any]]:
        indexes: list[str | None] = [None, *(s.value for s in JobStatus if s.is_final or s is JobStatus.RETRY)]
        found: dict[str, dict[str, str]] = {}
        for index in indexes:
            page, _ = self.store.job_index_page(index, 0, self.PAGE, EVENT_FIELDS)
            for job_id, record in page:
                found.setdefault(job_id, record)
        events = []
        for job_id, record in found.items():
            status = record.get("status") or ""
            before = self.seen.get(job_id)
            if before == status:
                continue
            self.seen[job_id] = status
            if not self._primed:
                continue
            if before is None and status != JobStatus.QUEUED.value:
                # sent after the watch began and already further on: its sending is an event too
                events.append(dict(_event(job_id, record), type=EVENT_NAMES["queued"], status="queued"))
            events.append(_event(job_id, record))
        self._primed = True
        if len(self.seen) > 50 * self.PAGE:  # forget the oldest: a long-running watch stays small
            for job_id in list(self.seen)[: len(self.seen) - 10 * self.PAGE]:
                del self.seen[job_id]
        return iter(events)


def _event(job_id: str, record: dict[str, str]) -> dict[str, Any]:
    status = record.get("status") or ""
    try:
        when = float(record.get("dateupdated") or 0) or None
    except ValueError:
        when = None
    return {"type": EVENT_NAMES.get(status, f"task-{status}"), "uuid": job_id, "name": record.get("path"),
            "status": status, "queue": record.get("queue"), "worker": record.get("worker"),
            "exception": record.get("exceptiontype"), "timestamp": when}


def _event_line(event: dict[str, Any]) -> str:
    when = time.strftime("%H:%M:%S", time.gmtime(event["timestamp"])) if event["timestamp"] else "--:--:--"
    extra = f" {event['exception']}" if event.get("exception") else ""
    return f"{when} {event['type']:<15} {event['uuid']} {event['name'] or '?'} [{event['queue'] or '?'}]{extra}"


# --- list --------------------------------------------------------------------------------

@click.command(name="list")
@click.argument("what", type=click.Choice(["bindings"]))
def list_command(what: str) -> None:
    """``celery list bindings``: exchange bindings are an AMQP notion; mrqc's Redis queues have none."""
    raise click.ClickException("list bindings: mrqc's queues live in Redis, where there are no exchanges or "
                               "bindings; see the queues with `mrqc queues` (routing: task_routes)")


COMMANDS = (purge, call, report, shell, events, list_command)
