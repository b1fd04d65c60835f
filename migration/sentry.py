"""Failures of the migration tool itself, sent to Sentry with the real sentry-sdk.

With a DSN (``--sentry-dsn`` or ``SENTRY_DSN``), each file the tool could not
handle (undecodable, unparsable, or a codemod that raised) becomes one Sentry
event, tagged ``file`` and ``construct`` (and ``line`` as extra data); events
are flushed before the command exits. Without a DSN nothing is sent and
sentry-sdk is not imported. This module uses sentry-sdk directly: it does not
depend on ``mrqc.adapters.sentry``.
"""
from __future__ import annotations

import os
from typing import Any


class SentryReporter:
    """Send one event per failed file; a no-op without a DSN."""

    def __init__(self, dsn: str | None = None) -> None:
        self.dsn = dsn or os.environ.get("SENTRY_DSN") or None
        self.client: Any = None
        self.sent = 0
        if self.dsn:
            try:
                import sentry_sdk
            except ImportError as exc:  # the extra is not installed: say so instead of silently dropping events
                raise RuntimeError("a Sentry DSN is set but sentry-sdk is not installed "
                                   "(pip install 'mrqc[sentry]')") from exc
            self.client = sentry_sdk.Client(self.dsn, default_integrations=False, auto_enabling_integrations=False,
                                            release=_version(), environment=os.environ.get("SENTRY_ENVIRONMENT"))

    def capture(self, exc: BaseException, file: str, construct: str, line: int) -> None:
        """One event for a file the tool could not handle."""
        if self.client is None:
            return
        import sentry_sdk
        # a scope of our own holding our client: the process's own Sentry setup (if any) is not touched
        with sentry_sdk.new_scope() as scope:
            scope.set_client(self.client)
            scope.set_tag("file", file)
            scope.set_tag("construct", construct)
            scope.set_tag("tool", "mrqc migrate")
            scope.set_extra("line", line)
            scope.capture_exception(exc)
        self.sent += 1

    def close(self) -> None:
        """Flush pending events (at most 10 s) and release the client."""
        if self.client is not None:
            self.client.flush(timeout=10)
            self.client.close(timeout=2)
            self.client = None


def _version() -> str:
    try:
        from importlib.metadata import version
        return f"mrqc@{version('mrqc')}"
    except Exception:  # noqa: BLE001 - a missing distribution only loses the release tag
        return "mrqc"
