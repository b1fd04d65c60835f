"""A Celery app for the operations tests (``mrqc worker -A tests.ops.celery_proj``).

With ``OPS_SENTRY_CELERY_DSN`` set, it calls ``sentry_sdk.init`` with the real
``CeleryIntegration`` at import, as a Celery project does; with
``OPS_SENTRY_MRQC_DSN``, with ``MrqcIntegration``.
"""
import os
import time

from mrqc import Celery

if os.environ.get("OPS_SENTRY_CELERY_DSN"):
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration

    sentry_sdk.init(dsn=os.environ["OPS_SENTRY_CELERY_DSN"], integrations=[CeleryIntegration()])

if os.environ.get("OPS_SENTRY_MRQC_DSN"):
    import sentry_sdk

    from mrqc.adapters.sentry import MrqcIntegration

    sentry_sdk.init(dsn=os.environ["OPS_SENTRY_MRQC_DSN"], integrations=[MrqcIntegration()])

app = Celery("tests.ops.celery_proj")
app.conf.update(task_default_queue="ops-celery")
if os.environ.get("OPS_TASK_LOG_FORMAT"):
    app.conf.worker_task_log_format = os.environ["OPS_TASK_LOG_FORMAT"]
if os.environ.get("OPS_LOG_SIGNALS"):
    import logging
    import sys

    from mrqc import signals

    @signals.after_setup_logger.connect
    def _root(logger=None, loglevel=None, **kwargs):
        print(f"after_setup_logger: root={logger is logging.getLogger()} level={loglevel}", file=sys.stderr)

    @signals.after_setup_task_logger.connect
    def _task(logger=None, **kwargs):
        print(f"after_setup_task_logger: {logger.name}", file=sys.stderr)

    if os.environ["OPS_LOG_SIGNALS"] == "own":
        @signals.setup_logging.connect
        def _own(loglevel=None, **kwargs):
            logging.basicConfig(level=loglevel, format="OWN %(levelname)s %(message)s", stream=sys.stderr)


class CeleryOpsError(Exception):
    pass


@app.task
def boom(password):
    from mrqc.utils.log import get_task_logger
    get_task_logger(__name__).warning("celery task line before failing")
    raise CeleryOpsError("celery boom")


@app.task(bind=True, max_retries=3, default_retry_delay=0)
def flaky(self):
    if self.request.retries == 0:
        raise self.retry(exc=CeleryOpsError("flaky first try"), countdown=0)
    return "ok"


@app.task(bind=True, max_retries=1, default_retry_delay=0)
def out_of_retries(self):
    raise self.retry(exc=CeleryOpsError("never works"), countdown=0)


@app.task(time_limit=0.5)
def slow():
    time.sleep(30)
