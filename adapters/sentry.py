"""Sentry reporting of failed jobs, as a sentry-sdk integration (``mrqc.adapters.sentry``).

::

    import sentry_sdk
    from mrqc.adapters.sentry import MrqcIntegration

    sentry_sdk.init(dsn="https://...", integrations=[MrqcIntegration()])

or nothing at all: a worker that sees ``SENTRY_DSN`` in its environment (or the
``sentry_dsn`` setting) calls ``sentry_sdk.init(dsn, integrations=[MrqcIntegration()])``
by itself. That is done by ``mrqc.adapters.sentry_plugin``, found by mrqcore through the
``mrqc.worker_plugins`` entry point (mrqcore imports nothing of Sentry).

**What is reported.** One event per job that ends for good with an error:
``failed``, ``maxretries`` (the exception of the last try), ``timeout`` (where
the job was when killed), and ``abort`` when an exception caused the abort. A
job that will be retried is not reported (``report_retries=True``, or the
``sentry_report_retries`` setting, reports each failed try too), so a retry
that later succeeds sends nothing. Cancelled and interrupted jobs are not
errors and are not reported.

Each event carries the tags ``mrqc.task`` (task path or Celery name),
``mrqc.queue``, ``mrqc.job_id``, ``mrqc.status``, ``mrqc.retry_count``,
``mrqc.worker``; the context ``mrqc.job`` with the params (keys in sentry-sdk's
scrubbing denylist, ``password``, ``token``... replaced by ``[Filtered]``,
for Celery tasks in ``kwargs`` too); the job's own log lines as breadcrumbs;
and the fingerprint ``["mrqc", <task>, <exception type>]``, so failures of
one task with one exception group together.

**With CeleryIntegration.** sentry-sdk's ``CeleryIntegration`` hooks Celery's
own tracer, which an mrqc worker does not run: it reports nothing from mrqc
jobs, and keeps working for whatever real Celery code the process has. A
worker whose ``sentry_sdk.init`` names only ``CeleryIntegration`` gets
``MrqcIntegration`` added to that client at start, so its job failures are
reported, once. The worker's own ERROR line about a failed job
(``mrqc.worker.jobs``) is ignored by sentry-sdk's logging integration, so it
does not make a second event.
"""
from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from mrqcore.middleware import Middleware
from mrqcore.outcomes import OUTCOME_LOGGER, error_of
from mrqcore.status import JobStatus

try:
    import sentry_sdk
    from sentry_sdk.integrations import DidNotEnable, Integration
    from sentry_sdk.integrations.logging import ignore_logger
    from sentry_sdk.scrubber import EventScrubber
    from sentry_sdk.utils import event_from_exception
except ImportError as _missing:  # pragma: no cover - exercised only without the extra
    raise ImportError("mrqc.adapters.sentry needs sentry-sdk: pip install 'mrqc[sentry]'") from _missing

if TYPE_CHECKING:
    from mrqcore.execution import RunningJob
    from mrqcore.worker import Worker

__all__ = ("MrqcIntegration", "SentryMiddleware", "enable_for_worker", "capture_job_error", "capture_dead_letter",
           "should_report", "REPORTED_STATUSES")

logger = logging.getLogger("mrqc.sentry")

#: statuses that end a job for good with an error (abort: only with an exception behind it)
REPORTED_STATUSES = frozenset({JobStatus.FAILED, JobStatus.MAXRETRIES, JobStatus.TIMEOUT, JobStatus.ABORT})
_BREADCRUMBS_MAX = 100


class MrqcIntegration(Integration):
    """Reports mrqc job failures to Sentry (see the module docstring).

    ``report_retries``: also report a failed try that will be retried (None:
    the ``sentry_report_retries`` setting of the worker's config).
    """

    identifier = "mrqc"
    origin = f"auto.queue.{identifier}"

    def __init__(self, report_retries: bool | None = None) -> None:
        self.report_retries = report_retries

    @staticmethod
    def setup_once() -> None:
        # The worker logs each failed job, and the wire each dead letter, at ERROR: those lines
        # must not become second events (each has its own, with tags: capture_job_error,
        # capture_dead_letter).
        ignore_logger(OUTCOME_LOGGER)
        ignore_logger("mrqc.wire.dead")


def should_report(status: str, exc: BaseException | None, report_retries: bool) -> bool:
    """Does a job that ended ``status`` with ``exc`` make a Sentry event?"""
    if status == JobStatus.RETRY:
        return report_retries and error_of(status, exc) is not None
    if status not in REPORTED_STATUSES:
        return False
    return error_of(status, exc) is not None


class SentryMiddleware(Middleware):
    """The ``after_perform`` hook that sends the events, while ``MrqcIntegration`` is on."""

    def after_perform(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        client = sentry_sdk.get_client()
        integration = client.get_integration(MrqcIntegration)
        if integration is None:
            return
        report_retries = integration.report_retries
        if report_retries is None:
            report_retries = bool(job.runtime.config.sentry_report_retries)
        if not should_report(status, exc, report_retries):
            return
        error = error_of(status, exc)
        assert error is not None
        capture_job_error(job, str(status), error)

    def worker_stop(self, worker: "Worker") -> None:
        sentry_sdk.flush(timeout=5)


def capture_job_error(job: "RunningJob", status: str, error: BaseException) -> str | None:
    """Send one event for ``job`` ending ``status`` because of ``error``; returns the event id."""
    client = sentry_sdk.get_client()
    task = job.task_path or "<unknown task>"
    with sentry_sdk.isolation_scope() as scope:
        scope.clear_breadcrumbs()
        for line in job.log_buffer[-_BREADCRUMBS_MAX:]:
            scope.add_breadcrumb(category="mrqc.job", message=line, level=_line_level(line), type="log")
        tags = {"mrqc.task": task, "mrqc.queue": job.data.get("queue") or "", "mrqc.job_id": job.id,
                "mrqc.status": status, "mrqc.retry_count": str(job.retry_count),
                "mrqc.worker": job.worker.id if job.worker is not None else ""}
        for key, value in tags.items():
            scope.set_tag(key, value)
        scope.set_context("mrqc.job", {"job_id": job.id, "task": task, "status": status,
                                       "queue": job.data.get("queue"), "retry_count": job.retry_count,
                                       "params": _scrubbed(job.params, client.options.get("event_scrubber"))})
        scope.fingerprint = ["mrqc", task, type(error).__name__]
        scope.transaction = task
        event, hint = event_from_exception((type(error), error, error.__traceback__),
                                           client_options=client.options,
                                           mechanism={"type": MrqcIntegration.identifier, "handled": False})
        return sentry_sdk.capture_event(event, hint=hint)


def capture_dead_letter(queue: str, task_id: str | None, task: str | None, kind: str, reason: str) -> str | None:
    """Send one event for a Celery message the wire dead-lettered (when a Sentry client is active).

    Tags ``mrqc.queue``, ``mrqc.job_id`` (the Celery task id), ``mrqc.task`` and
    ``mrqc.dead_reason`` (the kind: "malformed body", "unknown task"...); events of
    one queue and kind group together. Returns the event id, None when Sentry is off.
    """
    if not sentry_sdk.get_client().is_active():
        return None
    with sentry_sdk.isolation_scope() as scope:
        for key, value in (("mrqc.queue", queue), ("mrqc.job_id", task_id or ""), ("mrqc.task", task or ""),
                           ("mrqc.dead_reason", kind)):
            scope.set_tag(key, value)
        scope.fingerprint = ["mrqc", "dead-letter", queue, kind]
        return sentry_sdk.capture_message(f"celery wire: dead-lettered message {task_id} from {queue}: {reason}",
                                          level="error")


def _scrubbed(params: Any, scrubber: Any) -> Any:
    """A copy of the params with denylisted keys filtered (for Celery tasks, in ``kwargs`` too)."""
    scrubber = scrubber or EventScrubber()
    try:
        params = copy.deepcopy(params)
    except Exception:
        return "<params not copyable>"
    scrubber.scrub_dict(params)
    if isinstance(params, dict):
        scrubber.scrub_dict(params.get("kwargs"))
    return params


def _line_level(line: str) -> str:
    for level in ("CRITICAL", "ERROR", "WARNING", "DEBUG"):
        if f"[{level}]" in line:
            return {"CRITICAL": "fatal", "WARNING": "warning"}.get(level, level.lower())
    return "info"


_middleware = SentryMiddleware()


def enable_for_worker(worker: "Worker", dsn: str | None) -> None:
    """Turn Sentry reporting on for ``worker`` (called by ``mrqc.adapters.sentry_plugin``).

    With no active Sentry client and a ``dsn``:
    ``sentry_sdk.init(dsn, integrations=[MrqcIntegration()])``. With an active
    client lacking ``MrqcIntegration`` (``init`` with ``CeleryIntegration``
    only): the integration is added to it. Then the reporting middleware goes
    on the worker's runtime. No DSN and no client: nothing happens.
    """
    client = sentry_sdk.get_client()
    if not client.is_active():
        if not dsn:
            return
        sentry_sdk.init(dsn=dsn, integrations=[MrqcIntegration()])
        logger.info("Sentry: reporting failed jobs")
    elif client.get_integration(MrqcIntegration) is None:
        _add_to_client(client)
    worker.runtime.middleware.register(_middleware)


def _add_to_client(client: Any) -> None:
    """Enable ``MrqcIntegration`` on a client that was initialised without it."""
    from sentry_sdk.integrations import setup_integrations
    try:
        client.integrations.update(setup_integrations([MrqcIntegration()], with_defaults=False,
                                                      options=client.options))
    except DidNotEnable as exc:  # pragma: no cover - MrqcIntegration always enables
        logger.warning("Sentry: could not enable MrqcIntegration: %s", exc)
        return
    logger.info("Sentry: MrqcIntegration added to the active client (it was initialised without it)")
