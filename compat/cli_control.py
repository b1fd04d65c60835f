"""``mrqc inspect COMMAND`` and ``mrqc control COMMAND``: Celery's remote-control command lines.

| command line | what it does |
|---|---|
| ``mrqc -A proj inspect active`` (``reserved``, ``scheduled``, ``registered [ITEM...]``, ``stats``, ``ping``, ``active_queues``, ``revoked``, ``query_task ID...``) | asks the live workers, prints each one's reply |
| ``mrqc -A proj control revoke ID... [--terminate] [--signal SIG]`` | cancels the records, tells the workers (``--terminate`` kills running ones) |
| ``mrqc -A proj control terminate SIGNAL ID...`` | ``revoke --terminate`` as Celery spells it |
| ``mrqc -A proj control rate_limit TASK RATE`` / ``time_limit TASK SOFT [HARD]`` | changes a task's limits on the workers, at run time |
| ``mrqc -A proj control pool_grow [N]`` / ``pool_shrink [N]`` / ``autoscale MAX MIN`` | more / fewer jobs at once |
| ``mrqc -A proj control add_consumer QUEUE`` / ``cancel_consumer QUEUE`` | serve / stop serving a queue |
| ``mrqc -A proj control shutdown`` | the workers finish their running jobs and exit |

Options as Celery's, before or after COMMAND: ``-t/--timeout`` (seconds to
wait for replies, default 1), ``-d/--destination a,b`` (worker names), ``-j/--json``
(one JSON document). Output as Celery's (``->  worker: OK`` then the reply,
then ``N nodes online.``); when no worker replies within the timeout:
``Error: No nodes replied within time constraint`` and exit code 69, as
``celery inspect``. Without ``-A`` the commands use mrqc's configured store
(``mrqc_config.py``, ``MRQC_REDIS``), so MRQ-mode workers answer too.
Reached through the ``mrqc.cli`` entry point (``mrqc.cli_control:register``).
"""
from __future__ import annotations

import json
from typing import Any, Callable

import click
from mrqcore.cli import app_option, app_runtime, config_options

#: ``EX_UNAVAILABLE``: Celery's exit code when no node replied
NO_REPLY_EXIT = 69

#: inspect command -> (argument names it takes positionally, the last one variadic if it ends with "...")
INSPECT_COMMANDS: dict[str, tuple[str, ...]] = {
    "active": (), "reserved": (), "scheduled": (), "revoked": (), "registered": ("taskinfoitems...",),
    "stats": (), "ping": (), "active_queues": (), "query_task": ("ids...",), "report": (),
}
#: control command -> its positional arguments and their types, as Celery's ``Panel`` declares them
CONTROL_COMMANDS: dict[str, tuple[tuple[str, Callable[[str], Any]], ...]] = {
    "revoke": (("task_id...", str),), "terminate": (("signal", str), ("task_id...", str)),
    "rate_limit": (("task_name", str), ("rate_limit", str)),
    "time_limit": (("task_name", str), ("soft", float), ("hard", float)),
    "pool_grow": (("n", int),), "pool_shrink": (("n", int),), "autoscale": (("max", int), ("min", int)),
    "add_consumer": (("queue", str), ("exchange", str), ("exchange_type", str), ("routing_key", str)),
    "cancel_consumer": (("queue", str),), "shutdown": (), "enable_events": (), "disable_events": (),
}


def register(cli: click.Group) -> None:
    cli.add_command(inspect)
    cli.add_command(control)


def remote_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``-t/--timeout``, ``-d/--destination``, ``-j/--json``, ``-A`` and the config options."""
    func = click.option("--json", "-j", "as_json", is_flag=True, help="Print the replies as one JSON document.")(func)
    func = click.option("--destination", "-d", default=None, metavar="A,B",
                        help="Comma-separated worker names (the id `mrqc workers` lists, or its -n name).")(func)
    func = click.option("--timeout", "-t", type=float, default=1.0, show_default=True,
                        help="Seconds to wait for replies.")(func)
    return config_options(app_option(func))


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("command", type=click.Choice(sorted(INSPECT_COMMANDS)), metavar="COMMAND")
@click.argument("args", nargs=-1)
@remote_options
def inspect(command: str, args: tuple[str, ...], timeout: float, destination: str | None, as_json: bool,
            app: str | None, config_file: str | None, redis: str | None, redis_prefix: str | None) -> None:
    """Ask the live workers: COMMAND is active, reserved, scheduled, registered, stats, ping,
    active_queues, revoked or query_task (see docs/remote-control.md)."""
    celery_app = _setup(app, config_file, redis, redis_prefix)
    arguments = _arguments(command, {name: str for name in INSPECT_COMMANDS[command]}, args)
    say = _Printer(as_json)
    inspector = celery_app.control.inspect(timeout=timeout, destination=_names(destination), callback=say.reply)
    replies = inspector._request("stats" if command == "report" else command, **arguments)
    say.done(replies)


@click.command()
@click.argument("command", type=click.Choice(sorted(CONTROL_COMMANDS)), metavar="COMMAND")
@click.argument("args", nargs=-1)
@click.option("--terminate", is_flag=True, help="revoke: also kill the task if it is running.")
@click.option("--signal", "signal_name", default=None, help="revoke --terminate: the signal's name (recorded; "
                                                            "mrqc stops the job the same way for any signal).")
@remote_options
def control(command: str, args: tuple[str, ...], terminate: bool, signal_name: str | None, timeout: float,
            destination: str | None, as_json: bool, app: str | None, config_file: str | None, redis: str | None,
            redis_prefix: str | None) -> None:
    """Tell the live workers: COMMAND is revoke, terminate, rate_limit, time_limit, shutdown, pool_grow,
    pool_shrink, autoscale, add_consumer or cancel_consumer (see docs/remote-control.md)."""
    celery_app = _setup(app, config_file, redis, redis_prefix)
    arguments = _arguments(command, dict(CONTROL_COMMANDS[command]), args)
    if terminate and command != "revoke":
        raise click.UsageError("--terminate goes with revoke (or use: control terminate SIGNAL ID...)")
    say = _Printer(as_json)
    common = {"destination": _names(destination), "reply": True, "timeout": timeout, "callback": say.reply}
    if command in ("revoke", "terminate"):
        if not arguments.get("task_id"):
            raise click.UsageError(f"control {command}: give at least one task id")
        replies = celery_app.control.revoke(arguments["task_id"], terminate=terminate or command == "terminate",
                                            signal=arguments.get("signal") or signal_name, **common)
    else:
        replies = celery_app.control.broadcast(command, arguments=arguments, **common)
    say.done(replies)


# --- helpers --------------------------------------------------------------------------------------


def _setup(app: str | None, config_file: str | None, redis: str | None, redis_prefix: str | None) -> Any:
    """``-A``'s app bound to the command's runtime; without one, the default app on the configured store."""
    _, celery_app = app_runtime(app, config_file, {"redis": redis, "redis_prefix": redis_prefix})
    if celery_app is not None:
        return celery_app
    from ._state import get_current_app
    return get_current_app()


def _names(destination: str | None) -> list[str] | None:
    if destination is None:
        return None
    names = [name.strip() for name in destination.split(",") if name.strip()]
    if not names:
        raise click.UsageError(f"--destination {destination!r} names no worker (write -d name1,name2)")
    return names


def _arguments(command: str, spec: dict[str, Callable[[str], Any]], args: tuple[str, ...]) -> dict[str, Any]:
    """Positional ARGS -> the command's keyword arguments (a ``name...`` argument takes the rest)."""
    names = list(spec)
    arguments: dict[str, Any] = {}
    rest = list(args)
    for name in names:
        if name.endswith("..."):
            arguments[name[:-3]] = [spec[name](arg) for arg in rest]
            rest = []
            break
        if not rest:
            break
        value = rest.pop(0)
        try:
            arguments[name] = spec[name](value)
        except ValueError:
            kind = {int: "a whole number", float: "a number"}.get(spec[name], "text")  # type: ignore[call-overload]
            raise click.UsageError(f"{command}: {name} must be {kind}, got {value!r}") from None
    if rest:
        signature = " ".join(f"[{n}]" if n.endswith("...") else f"<{n}>" for n in names) or "(no arguments)"
        raise click.UsageError(f"{command} takes: {signature}; got extra {' '.join(rest)!r}")
    return arguments


class _Printer:
    """Prints each reply as it comes (Celery's ``->  node: OK`` lines), then the node count."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def reply(self, item: dict[str, Any]) -> None:
        if self.as_json:
            return
        for node, data in item.items():
            status, body = _pretty(data)
            click.echo(f"->  {node}: {status}")
            click.echo(_indent(body, 4))

    def done(self, replies: Any) -> None:
        if not replies:
            click.echo("Error: No nodes replied within time constraint", err=True)
            raise SystemExit(NO_REPLY_EXIT)
        if isinstance(replies, list):
            merged: dict[str, Any] = {}
            for item in replies:
                merged.update(item)
            replies = merged
        if self.as_json:
            click.echo(json.dumps(replies, default=str))
            return
        count = len(replies)
        click.echo(f"\n{count} node{'s' if count != 1 else ''} online.")


def _pretty(data: Any) -> tuple[str, str]:
    if isinstance(data, list):
        return "OK", "\n".join(f"* {item}" for item in data) if data else "- empty -"
    if isinstance(data, dict):
        if "ok" in data:
            return "OK", _pretty(data["ok"])[1]
        if "error" in data:
            return "ERROR", _pretty(data["error"])[1]
        return "OK", json.dumps(data, sort_keys=True, indent=4, default=str)
    return "OK", str(data)


def _indent(text: str, width: int) -> str:
    return "\n".join(" " * width + line for line in text.splitlines())
