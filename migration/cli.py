"""``mrqc migrate``: the command (registered through the ``mrqc.cli`` entry point group)."""
from __future__ import annotations

import sys

import click

from .report import EXIT_BAD_INPUT, EXIT_MANUAL


def register(cli: click.Group) -> None:
    """Add ``migrate`` to the ``mrqc`` CLI (entry point ``mrqc.cli``: ``migrate``)."""
    cli.add_command(migrate_command)


@click.command("migrate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff; change no file (the default).")
@click.option("--write", is_flag=True, help="Rewrite the files in place.")
@click.option("--check", is_flag=True,
              help="CI mode: change no file, print no diff; exit 3 while anything convertible (or manual) is left.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Write every change and every construct left to this JSON file.")
@click.option("--from", "source", type=click.Choice(["celery", "mrq", "auto"]), default="auto", show_default=True,
              help="What the code base is written for.")
@click.option("--sentry-dsn", default=None, envvar="SENTRY_DSN",
              help="Report failures of the tool itself to Sentry (default: $SENTRY_DSN).")
def migrate_command(paths: tuple[str, ...], show_diff: bool, write: bool, check: bool, report_path: str | None,
                    source: str, sentry_dsn: str | None) -> None:
    """Convert the Celery or MRQ code base under PATHS to mrqc, and name what could not be converted.

    Exit codes: 0 everything converted (or nothing needed it); 3 manual work
    remains (listed in the report), or with --check, files would still change;
    2 bad input (a missing path, an unparsable file: reported and skipped).
    """
    from .runner import MigrationInputError, migrate
    if write and (show_diff or check):
        click.echo("mrqc migrate: --write cannot be combined with --diff or --check", err=True)
        sys.exit(EXIT_BAD_INPUT)
    mode = "write" if write else "check" if check and not show_diff else "diff"
    try:
        report = migrate(paths, mode=mode, source=source, sentry_dsn=sentry_dsn,
                         out=click.get_text_stream("stdout"))
    except MigrationInputError as exc:
        click.echo(f"mrqc migrate: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if report_path:
        report.write_json(report_path)
    click.echo(report.summary(), err=True)
    code = report.exit_code
    if check and report.files_changed:
        click.echo(f"--check: {len(report.files_changed)} files would change; run `mrqc migrate --write`", err=True)
        code = code or EXIT_MANUAL
    sys.exit(code)
