"""mrqc.migration: ``mrqc migrate`` converts a Celery or MRQ code base to mrqc and names what it could not.

Public names: ``migrate(paths, mode="diff"|"write"|"check", source="auto"|"celery"|"mrq",
sentry_dsn=None, out=None) -> Report``; ``Report`` / ``Finding`` (``migration.report``);
``MigrationInputError`` (bad arguments, exit code 2). The command is ``mrqc migrate``
(``migration.cli``, registered through the ``mrqc.cli`` entry point group).

Modules: ``runner`` (files, modes, writing), ``pycelery`` and ``pymrq`` (libcst
codemods), ``settings`` (settings modules), ``commands`` and ``cmdfiles`` (command
lines in scripts, Procfiles, Dockerfiles, compose/Kubernetes YAML, systemd and
supervisor files), ``targets`` (what exists in mrqc, checked by import; the
refusal tables read from compat), ``sentry`` (failures of the tool to Sentry).
docs/migration.md is the user's guide. Needs the ``migrate`` extra (libcst).
"""
from __future__ import annotations

from .report import EXIT_BAD_INPUT, EXIT_MANUAL, EXIT_OK, Finding, Report

__all__ = ["migrate", "Report", "Finding", "MigrationInputError", "EXIT_OK", "EXIT_MANUAL", "EXIT_BAD_INPUT"]


def __getattr__(name: str) -> object:
    # the runner imports libcst: load it on first use, so `import mrqc.migration` works without the extra
    if name in ("migrate", "MigrationInputError"):
        from . import runner
        return getattr(runner, name)
    raise AttributeError(name)
