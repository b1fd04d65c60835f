"""The worker plugin that turns Sentry reporting on (entry point ``mrqc.worker_plugins``: ``sentry``).

Kept apart from ``mrqc.adapters.sentry`` so that a worker without sentry-sdk
installed loads it for free: it imports sentry-sdk only when there is a DSN
(``sentry_dsn`` setting, else ``$SENTRY_DSN``) or sentry-sdk is already
imported (the project called ``sentry_sdk.init`` itself). A DSN without
sentry-sdk installed is an error line naming the extra to install.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mrqcore.worker import Worker

__all__ = ("worker_plugin",)

logger = logging.getLogger("mrqc.sentry")


def worker_plugin(worker: "Worker") -> None:
    """Enable ``MrqcIntegration`` for ``worker`` when a DSN or an active Sentry client asks for it."""
    dsn = worker.runtime.config.sentry_dsn or os.environ.get("SENTRY_DSN") or None
    if not dsn and "sentry_sdk" not in sys.modules:
        return
    try:
        from .sentry import enable_for_worker
    except ImportError as exc:
        logger.error("Sentry DSN set but failed jobs cannot be reported: %s", exc)
        return
    enable_for_worker(worker, dsn)
