"""Sentry reporting from real workers to a local DSN, through the real sentry-sdk (acceptance 1)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.sentry_receiver import SentryReceiver, sentry_receiver  # noqa: F401  (pytest fixture)

import sentry_sdk  # noqa: E402,F401 - in the test extra: missing is a broken install, not a skip

TAGS = ("mrqc.task", "mrqc.queue", "mrqc.job_id", "mrqc.status", "mrqc.retry_count", "mrqc.worker")


def _by_task(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        out.setdefault(event["tags"]["mrqc.task"], []).append(event)
    return out


def _exception_type(event: dict[str, Any]) -> str:
    return event["exception"]["values"][-1]["type"]


def test_mrq_tasks_one_event_per_final_failure(runtime, config_values, run_burst, sentry_receiver):
    from mrqcore.job import queue_job
    config_values["tasks"] = {"tests.ops.tasks.Slow": {"timeout": 0.3}}
    ids = {path: queue_job(f"tests.ops.tasks.{path}", params, queue="ops", runtime=runtime)
           for path, params in [("Boom", {"what": "x", "password": "hunter2"}), ("FlakyOnce", {}),
                                ("AlwaysRetry", {}), ("Slow", {}), ("AbortPlain", {}), ("Hello", {"n": 1})]}
    run_burst("ops", env={"SENTRY_DSN": sentry_receiver.dsn})
    # The burst worker flushed Sentry before exiting: everything it sent has arrived.
    events = _by_task(sentry_receiver.wait_for_events(3))
    assert sorted(events) == ["tests.ops.tasks.AlwaysRetry", "tests.ops.tasks.Boom", "tests.ops.tasks.Slow"], events
    assert all(len(v) == 1 for v in events.values()), "one event per final failure"

    boom = events["tests.ops.tasks.Boom"][0]
    assert set(TAGS) <= set(boom["tags"])
    assert boom["tags"]["mrqc.job_id"] == ids["Boom"]
    assert boom["tags"]["mrqc.queue"] == "ops" and boom["tags"]["mrqc.status"] == "failed"
    assert boom["tags"]["mrqc.retry_count"] == "0" and boom["tags"]["mrqc.worker"]
    assert _exception_type(boom) == "OpsError"
    assert boom["fingerprint"] == ["mrqc", "tests.ops.tasks.Boom", "OpsError"]
    params = boom["contexts"]["mrqc.job"]["params"]
    assert params["what"] == "x" and params["password"] != "hunter2"  # scrubbed by sentry-sdk's denylist
    crumbs = [c.get("message", "") for c in boom.get("breadcrumbs", {}).get("values", [])]
    assert any("about to fail on x" in c for c in crumbs), crumbs

    retried = events["tests.ops.tasks.AlwaysRetry"][0]
    assert retried["tags"]["mrqc.status"] == "maxretries" and retried["tags"]["mrqc.retry_count"] == "1"
    assert _exception_type(retried) == "OpsError"  # the exception behind the retries, not the interrupt
    slow = events["tests.ops.tasks.Slow"][0]
    assert slow["tags"]["mrqc.status"] == "timeout" and _exception_type(slow) == "JobTimeoutInterrupt"


def test_report_retries_setting_reports_each_failed_try(runtime, run_burst, sentry_receiver):
    from mrqcore.job import queue_job
    queue_job("tests.ops.tasks.FlakyOnce", {}, queue="ops", runtime=runtime)
    run_burst("ops", env={"MRQC_SENTRY_DSN": sentry_receiver.dsn, "MRQC_SENTRY_REPORT_RETRIES": "1"})
    events = sentry_receiver.wait_for_events(1)
    assert len(events) == 1 and events[0]["tags"]["mrqc.status"] == "retry"


def test_no_dsn_no_reporting(runtime, run_burst, sentry_receiver):
    from mrqcore.job import queue_job
    queue_job("tests.ops.tasks.Boom", {}, queue="ops", runtime=runtime)
    output = run_burst("ops")
    assert "OpsError" in output  # logged, but no client: nothing sent
    assert sentry_receiver.events() == []


@pytest.fixture
def celery_app(runtime):
    from tests.ops import celery_proj
    return celery_proj


def test_celery_tasks_one_event_per_final_failure(celery_app, run_burst, sentry_receiver):
    failing = celery_app.boom.delay(password="hunter2")
    celery_app.flaky.delay()
    retried = celery_app.out_of_retries.delay()
    slow = celery_app.slow.delay()
    run_burst("-A", "tests.ops.celery_proj", "ops-celery", env={"SENTRY_DSN": sentry_receiver.dsn})
    events = _by_task(sentry_receiver.wait_for_events(3))
    assert sorted(events) == ["tests.ops.celery_proj.boom", "tests.ops.celery_proj.out_of_retries",
                              "tests.ops.celery_proj.slow"], events
    assert all(len(v) == 1 for v in events.values())
    boom = events["tests.ops.celery_proj.boom"][0]
    assert set(TAGS) <= set(boom["tags"])
    assert boom["tags"]["mrqc.job_id"] == failing.id and boom["tags"]["mrqc.queue"] == "ops-celery"
    assert _exception_type(boom) == "CeleryOpsError"
    assert boom["contexts"]["mrqc.job"]["params"]["kwargs"]["password"] != "hunter2"
    out = events["tests.ops.celery_proj.out_of_retries"][0]
    assert out["tags"]["mrqc.job_id"] == retried.id and _exception_type(out) == "CeleryOpsError"
    assert events["tests.ops.celery_proj.slow"][0]["tags"]["mrqc.job_id"] == slow.id


def test_celery_integration_too_reports_once(celery_app, run_burst, sentry_receiver):
    """The project inits sentry-sdk with the real CeleryIntegration and no MrqcIntegration: one event."""
    celery_app.boom.delay(password="x")
    output = run_burst("-A", "tests.ops.celery_proj", "ops-celery",
                       env={"OPS_SENTRY_CELERY_DSN": sentry_receiver.dsn, "SENTRY_DSN": sentry_receiver.dsn})
    events = sentry_receiver.wait_for_events(1)
    assert len(events) == 1, [e.get("tags") for e in events]
    assert events[0]["tags"]["mrqc.task"] == "tests.ops.celery_proj.boom"
    assert "celery" in events[0]["sdk"]["integrations"] and "mrqc" in events[0]["sdk"]["integrations"]
    assert "MrqcIntegration added" in output


def test_init_with_mrqc_integration_in_the_project(celery_app, run_burst, sentry_receiver):
    """No SENTRY_DSN: the project's own ``sentry_sdk.init(integrations=[MrqcIntegration()])`` is used."""
    job = celery_app.boom.delay(password="x")
    run_burst("-A", "tests.ops.celery_proj", "ops-celery", env={"OPS_SENTRY_MRQC_DSN": sentry_receiver.dsn})
    events = sentry_receiver.wait_for_events(1)
    assert len(events) == 1 and events[0]["tags"]["mrqc.job_id"] == job.id


def test_should_report_table():
    from mrqc.adapters.sentry import should_report
    from mrqcore.exceptions import AbortInterrupt, RetryInterrupt
    error = ValueError("x")
    assert should_report("failed", error, False) and should_report("timeout", error, False)
    assert should_report("maxretries", RetryInterrupt(exc=error), False)
    assert not should_report("retry", RetryInterrupt(exc=error), False)
    assert should_report("retry", RetryInterrupt(exc=error), True)
    assert not should_report("abort", AbortInterrupt("plain"), False)
    try:
        try:
            raise error
        except ValueError:
            raise AbortInterrupt("because")
    except AbortInterrupt as abort:
        assert should_report("abort", abort, False)
    for status in ("success", "cancel", "interrupt", "queued"):
        assert not should_report(status, error, False)
