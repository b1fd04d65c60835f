"""Reports: slow work with a soft time limit, and a rate-limited export, on the ``reports`` queue."""
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from shop import effects
from shop.tasks.base import AuditedTask


@shared_task(soft_time_limit=1, time_limit=30)
def build_report(report_id):
    """Waits for data that never comes; the soft time limit makes it return what it has."""
    try:
        effects.client().blpop(effects.key("never-pushed:" + report_id), timeout=25)
    except SoftTimeLimitExceeded:
        effects.record("reports:partial", report_id)
        return "partial"
    return "complete"


@shared_task(base=AuditedTask)
def daily_sales(region):
    if region not in ("eu", "us"):
        raise ValueError(f"unknown region {region!r}")
    effects.record("reports:daily", region)
    return {"region": region}


@shared_task
def monthly_invoices():
    effects.record("reports:invoices", True)
    return "invoiced"


@shared_task
def heartbeat():
    effects.record("heartbeat", True)
    return "alive"


@shared_task(rate_limit="4/s")
def export_page(batch, page):
    """Calls an API that allows 4 requests a second: Celery lets one call through every 0.25 s."""
    effects.record("export:" + batch, {"page": page, "started": time.time()})
    return page
