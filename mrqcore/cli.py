"""The ``mrqc`` command: ``worker``, ``run`` and the commands other modules add.

Every command takes ``--config``, ``--redis`` and ``--redis-prefix``; settings
resolve as defaults < config file < ``MRQC_*`` < flags (see docs/configuration.md).

``-A APP`` (or ``$MRQC_APP``) on a command: the app's settings come between
``MRQC_*`` and the flags (``mrqc worker``, ``run``, ``result``, the admin
commands: the app's broker is the Redis they use). The app hook is duck-typed:
an app object may define ``mrqc_worker_options() -> dict`` (its settings as
mrqcore settings) and ``mrqc_bind_runtime(runtime)`` (use the command's
runtime, so a worker's runtime and its app's are one object).

Commands come from mrqcore's own modules (``CORE_COMMAND_MODULES``) and from
installed packages, through the entry-point group ``mrqc.cli`` (``COMMAND_GROUP``):
each entry is a ``register(cli)`` function. The Celery layer declares its
commands (``result``, ``revoke``, ``beat``) there in pyproject.toml.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import shutil
import sys
import types
from typing import Any, Callable

import click

from .worker_flags import plan_worker, worker_flag_options

#: mrqcore's own modules whose ``register(cli)`` adds commands
CORE_COMMAND_MODULES = ("mrqcore.admin_cli", "mrqcore.scheduler_cli", "mrqcore.dashboard.cli")
#: entry-point group of other packages' ``register(cli)`` functions
COMMAND_GROUP = "mrqc.cli"


#: where the group-level ``mrqc -A APP <command>`` keeps APP (``click.Context.meta``, shared by the chain)
GROUP_APP_KEY = "mrqc.app"


def config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command shares (MRQ's underscore spelling ``--redis_prefix`` too)."""
    func = click.option("--redis-prefix", "--redis_prefix", "redis_prefix", default=None,
                        help="Prefix of mrqc's Redis keys.")(func)
    func = click.option("--redis", default=None, help="Redis URL (default: embedded Redis in .mrqc/).")(func)
    func = click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
                        help="Python config file (default: ./mrqc_config.py, else MRQ's ./mrq-config.py).")(func)
    return func


def _resolve_app(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The command's ``-A``, else the group's (``mrqc -A proj worker``), else ``$MRQC_APP``."""
    return value or ctx.meta.get(GROUP_APP_KEY) or os.environ.get("MRQC_APP") or None


def app_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--app/-A``: the app whose settings (broker...) the command uses.

    Given after the command (``mrqc worker -A proj``) or before it, as Celery
    users write it (``mrqc -A proj worker``); default ``$MRQC_APP``.
    """
    return click.option("--app", "-A", "app", default=None, callback=_resolve_app,
                        help="App (module or module:attr) whose settings, e.g. its broker, this command "
                             "uses (also accepted before the command: mrqc -A APP ...; default: $MRQC_APP).")(func)


def build_runtime(config_file: str | None, overrides: dict[str, Any], app: Any = None) -> Any:
    """Build the command's runtime, install it as the explicit one, and bind ``app`` (if any) to it."""
    # Like Celery and MRQ: task modules in the working directory are importable.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    from .config import Config
    from .exceptions import ConfigError
    from .runtime import Runtime, set_runtime
    try:
        runtime = Runtime(Config.load(config_file=config_file, overrides=overrides))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    set_runtime(runtime)
    bind = getattr(app, "mrqc_bind_runtime", None)
    if callable(bind):
        bind(runtime)
    return runtime


def app_runtime(spec: str | None, config_file: str | None, flags: dict[str, Any]) -> tuple[Any, Any]:
    """``(runtime, app)`` of a command with ``-A spec``: flags > the app's settings > MRQC_* > file.

    ``app`` is None when there is no spec, or the module holds no app object.
    """
    app = open_app(spec)
    return build_runtime(config_file, merge_app_settings(app, flags), app), app


def merge_app_settings(app: Any, flags: dict[str, Any]) -> dict[str, Any]:
    """The app's settings (``mrqc_worker_options()``), with the flags that were given on top."""
    overrides = dict(app.mrqc_worker_options()) if app is not None else {}
    overrides.update({key: value for key, value in flags.items() if value is not None})
    return overrides


def find_app(spec: str, is_app: Callable[[Any], bool]) -> Any:
    """Import ``-A MODULE[:ATTR]`` and return the app object, as ``celery -A`` finds it.

    Looks at ``ATTR``, else ``app`` then ``celery`` in the module; an attribute
    that is itself a module (``proj.celery``) is searched the same way; a
    package whose app lives in ``MODULE/celery.py`` is found too. ``is_app``
    says what counts as an app. A missing app is a UsageError naming the spec.
    """
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.UsageError(f"cannot import app {spec!r}: {exc}") from exc
    places = [module]
    if not attr:
        try:
            places.append(importlib.import_module(f"{module_name}.celery"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{module_name}.celery":
                raise
    for place in places:
        for name in ([attr] if attr else ["app", "celery"]):
            found = getattr(place, name, None)
            if isinstance(found, types.ModuleType):  # `proj.celery` is the module holding the app
                found = getattr(found, "app", None) or getattr(found, "celery", None)
            if found is not None and is_app(found):
                return found
    where = f"attribute {attr!r}" if attr else "'app' or 'celery'"
    raise click.UsageError(f"app {spec!r}: no app object ({where}) in module {module_name!r}")


def open_app(spec: str | None) -> Any:
    """Import ``-A spec`` and return its app object (one with ``mrqc_worker_options``), or None.

    A module with no such object is imported for its side effects (registering
    tasks) and gives None; ``module:attr`` naming no app is a UsageError.
    """
    if not spec:
        return None
    try:
        return find_app(spec, lambda obj: hasattr(obj, "mrqc_worker_options"))
    except click.UsageError:
        if ":" in spec:
            raise
        return None  # imported; no app object to ask


def load_app(spec: str | None) -> dict[str, Any]:
    """Import ``-A`` and return the worker settings the app asks for ({} if none).

    The app object may define ``mrqc_worker_options() -> dict`` (queues,
    imports, ...): this is how the Celery layer makes ``mrqc worker -A proj``
    serve its queues without mrqcore knowing about it.
    """
    app = open_app(spec)
    return dict(app.mrqc_worker_options()) if app is not None else {}


@click.group()
@click.option("--app", "-A", "app", default=None, metavar="APP",
              help="App for the command that follows (as `celery -A proj worker`); same as its own -A.")
@click.version_option(package_name="mrqc")
@click.pass_context
def cli(ctx: click.Context, app: str | None) -> None:
    """mrqc: MRQ's job semantics with a Celery-compatible API."""
    if app:
        ctx.meta[GROUP_APP_KEY] = app


@cli.command()
@click.argument("queues", nargs=-1)
@click.option("--greenlets", "-g", type=click.IntRange(min=1), default=None, help="Jobs run at once per process.")
@click.option("--processes", "-p", type=click.IntRange(min=0), default=None, help="Worker processes to supervise.")
@click.option("--max-jobs", "--max_jobs", "max_jobs", type=int, default=None, help="Exit after this many jobs.")
@click.option("--max-time", "--max_time", "max_time", type=float, default=None, help="Exit after this many seconds.")
@click.option("--max-memory", "--max_memory", "max_memory", type=int, default=None,
              help="Exit gracefully above this RSS (MB).")
@click.option("--burst", is_flag=True, default=None, help="Drain the queues, then exit.")
@click.option("--scheduler", is_flag=True, default=None,
              help="Also queue the periodic jobs of scheduler_tasks (see docs/scheduler.md).")
@click.option("--name", "-n", "--hostname", "name", default=None,
              help="Worker name; %h, %n, %d expand to the host name, its first label, its domain.")
@app_option
@click.option("--log-level", "-l", "--loglevel", "--log_level", "log_level", default=None,
              help="DEBUG, INFO, WARNING, ERROR (any case): filters every line, task lines included.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="text (default) or json: one JSON object a line (see docs/operations.md).")
@click.option("--metrics-port", type=int, default=None,
              help="Serve Prometheus /metrics and /healthz on this port (needs mrqc[metrics]).")
@worker_flag_options
@config_options
def worker(queues: tuple[str, ...], app: str | None, log_level: str | None, log_format: str | None,
           metrics_port: int | None, config_file: str | None, redis: str | None, redis_prefix: str | None,
           **flags: Any) -> None:
    """Serve QUEUES (first listed, first served; default: the configured queues).

    Celery's worker flags work too (-c, -P, -Q, -n, -B, --autoscale...): see docs/worker.md.
    """
    plan = plan_worker(queues, flags)
    if plan.pool == "solo" and metrics_port:
        raise click.UsageError("--metrics-port needs the gevent pool (-P solo runs without gevent's server)")
    overrides: dict[str, Any] = dict(plan.overrides, redis=redis, redis_prefix=redis_prefix, log_level=log_level,
                                     log_format=log_format, metrics_port=metrics_port)
    app_object = open_app(app)
    overrides = merge_app_settings(app_object, overrides)
    runtime = build_runtime(config_file, overrides, app_object)
    config = runtime.config
    if plan.pool == "solo" and config.processes > 0:  # e.g. `processes` in mrqc_config.py
        raise click.UsageError(f"-P solo runs in this one process, but processes = {config.processes} is "
                               "configured: give --processes 0, or use -P prefork")
    from . import metrics_server as metrics
    from .exceptions import ConfigError
    from .logs import setup_worker_logging
    from .startup import wait_for_store
    from .worker import Worker
    made_dir = None  # a $PROMETHEUS_MULTIPROC_DIR made for this run (removed at exit)
    try:
        setup_worker_logging(config)  # --log-level/--log-format, Celery's logging settings and signals
        if config.metrics_port:
            if config.processes > 0:  # before prometheus_client is imported: it reads the variable then
                made_dir = metrics.prepare_multiprocess()
            metrics.prometheus()  # a missing extra is a clear error now, not in a child
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if not wait_for_store(runtime):
        sys.exit(1)
    try:
        Worker(runtime, pool=plan.pool)  # checks what only a worker checks (e.g. scheduler_tasks) before any fork
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    if config.processes > 0:
        from .supervisor import Supervisor
        server = None

        def child() -> int:
            if server is not None:
                server.close()  # the supervisor's listening socket, inherited by the fork
            # A fresh runtime in each child: no connection is shared across a fork.
            child_worker = Worker(build_runtime(config_file, overrides, app_object))
            if config.metrics_port:
                metrics.JobMetrics().attach(child_worker)  # counted into $PROMETHEUS_MULTIPROC_DIR
            return child_worker.run()

        supervisor = Supervisor(child, config.processes, replace_clean_exits=not config.burst)
        if config.metrics_port:
            server = metrics.serve_supervisor_metrics(runtime, config.metrics_port, lambda: set(supervisor.children))
        code = supervisor.run()
        if config.metrics_port and made_dir:
            shutil.rmtree(made_dir, ignore_errors=True)
        sys.exit(code)
    the_worker = Worker(runtime, pool=plan.pool)
    if plan.pool == "solo":
        sys.exit(_run_solo(the_worker))
    if config.metrics_port:
        metrics.serve_worker_metrics(the_worker, config.metrics_port)
    sys.exit(the_worker.run())


def _run_solo(the_worker: Any) -> int:
    """Run a solo-pool worker in this (unpatched) process's main thread, with the gevent pool's signals
    (MRQ's or Celery's reading, ``mrqcore.shutdown``)."""
    import signal

    from .shutdown import solo_signal_handlers
    for signum, handler in solo_signal_handlers(the_worker).items():
        signal.signal(signum, lambda _signum, _frame, handler=handler: handler())
    return int(the_worker.run())


@cli.command()
@click.argument("path")
@click.argument("json_params", required=False, default="{}")
@click.option("--queue", default=None, help="Queue the job on QUEUE and print its id instead of running it.")
@app_option
@config_options
def run(path: str, json_params: str, queue: str | None, app: str | None, config_file: str | None,
        redis: str | None, redis_prefix: str | None) -> None:
    """Run task PATH with JSON_PARAMS in this process and print its JSON result."""
    try:
        params = json.loads(json_params)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}", param_hint="JSON_PARAMS") from exc
    if not isinstance(params, dict):
        raise click.BadParameter("must be a JSON object", param_hint="JSON_PARAMS")
    runtime, _ = app_runtime(app, config_file, {"redis": redis, "redis_prefix": redis_prefix})
    from .exceptions import MrqcError
    if queue:
        from .job import queue_job
        try:
            click.echo(queue_job(path, params, queue=queue, runtime=runtime))
        except MrqcError as exc:
            raise click.ClickException(str(exc)) from exc
        return
    from .local import run_locally
    try:
        result = run_locally(path, params, runtime)
    except MrqcError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result))


def _register_extensions() -> None:
    for module_name in CORE_COMMAND_MODULES:
        importlib.import_module(module_name).register(cli)
    for entry in importlib.metadata.entry_points(group=COMMAND_GROUP):
        try:
            register = entry.load()
        except Exception as exc:  # a broken plugin must not take `mrqc worker` down: say so, go on
            click.echo(f"mrqc: commands of entry point {entry.name!r} ({entry.value}) not loaded: "
                       f"{type(exc).__name__}: {exc}", err=True)
            continue
        register(cli)


def main(argv: list[str] | None = None) -> None:
    """Console entry point. The worker needs gevent's monkey-patching before anything else
    (not ``worker -P solo``: the solo pool runs in an unpatched process)."""
    args = sys.argv[1:] if argv is None else argv
    command, rest = _command_of(args)
    if command in ("worker", "scheduler", "dashboard") and not (command == "worker" and _solo_pool(rest)):
        from gevent import monkey
        monkey.patch_all()
    _register_extensions()
    cli.main(args=args, prog_name="mrqc")


def _command_of(args: list[str]) -> tuple[str | None, list[str]]:
    """The command name in ``args`` past the group's own options (``-A proj``), and what follows it."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-A", "--app"):
            index += 2
        elif arg.startswith("--app=") or (arg.startswith("-A") and len(arg) > 2):
            index += 1
        elif arg.startswith("-"):
            return None, []  # --help, --version: no command to prepare for
        else:
            return arg, args[index + 1:]
    return None, []


def _solo_pool(args: list[str]) -> bool:
    """Whether a worker's arguments ask for ``-P solo`` (seen before click parses them)."""
    for index, arg in enumerate(args):
        if arg in ("-P", "--pool") and index + 1 < len(args):
            if args[index + 1].strip().lower() == "solo":
                return True
        elif arg.startswith("--pool=") and arg[len("--pool="):].strip().lower() == "solo":
            return True
        elif arg.startswith("-P") and arg[2:].lstrip("=").strip().lower() == "solo":
            return True
    return False


if __name__ == "__main__":
    main()
