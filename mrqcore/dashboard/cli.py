"""``mrqc dashboard``: serve the web dashboard (Flask on gevent's WSGI server).

Binds 127.0.0.1 unless ``--host`` says otherwise, and refuses any other
address without ``--auth user:password`` unless ``--insecure`` is given.
``-A APP`` reads the app's broker (and schedule), like the admin commands.
"""
from __future__ import annotations

import click

from ..cli import app_option, app_runtime, config_options
from ..exceptions import ConfigError


def register(cli: click.Group) -> None:
    cli.add_command(dashboard)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=5555, show_default=True, type=click.IntRange(0, 65535), help="Port to bind.")
@click.option("--auth", default=None, metavar="USER:PASSWORD",
              help="Require these HTTP Basic credentials on every page and action.")
@click.option("--insecure", is_flag=True, help="Allow a non-loopback --host without --auth (behind a guarding proxy).")
@click.option("--refresh", default=2.0, show_default=True, type=click.FloatRange(0.2, 3600),
              help="Seconds between live refreshes of each page.")
@app_option
@config_options
def dashboard(host: str, port: int, auth: str | None, insecure: bool, refresh: float, app: str | None,
              config_file: str | None, redis: str | None, redis_prefix: str | None) -> None:
    """Serve the dashboard: jobs, queues, workers, failures and the schedule, with a JSON API."""
    from .security import check_bind, parse_auth
    try:
        credentials = parse_auth(auth)
        check_bind(host, credentials, insecure)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        import flask  # noqa: F401  (checked here for a clear message)
    except ImportError:
        raise click.ClickException("mrqc dashboard needs Flask: pip install 'mrqc[dashboard]'") from None
    runtime, _ = app_runtime(app, config_file, {"redis": redis, "redis_prefix": redis_prefix})
    from .app import create_app, serve
    web = create_app(runtime, auth=credentials, refresh_ms=int(refresh * 1000))
    click.echo(f"mrqc dashboard on http://{host}:{port}/ (API: /api/openapi.json)"
               + ("" if credentials else " without auth"), err=True)
    serve(web, host, port)
