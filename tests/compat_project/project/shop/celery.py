"""The shop's Celery app: configuration, routing and the beat schedule.

Everything deployment-specific comes from the environment, as in most real
projects: ``SHOP_BROKER_URL`` (broker and result backend), ``SHOP_KEY_PREFIX``
(a prefix for every Redis key the queue writes, so several deployments share
one Redis), ``SHOP_EAGER=1`` (run tasks in-process, for unit tests) and
``SHOP_HEARTBEAT_SECONDS`` (period of the heartbeat beat entry).
"""
import os
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab

BROKER_URL = os.environ.get("SHOP_BROKER_URL", "redis://127.0.0.1:6379/11")
KEY_PREFIX = os.environ.get("SHOP_KEY_PREFIX", "shop:")

app = Celery("shop", include=["shop.tasks.orders", "shop.tasks.emails", "shop.tasks.reports"])

@app.on_after_configure.connect
def setup_periodic_tasks(sender, **kwargs):
    # Tasks are named, not imported: this runs while the task modules are still being imported.
    sender.add_periodic_task(3600.0, sender.signature("shop.tasks.orders.sync_inventory", args=("warehouse-1",)),
                             name="hourly-inventory-sync")
    sender.add_periodic_task(crontab(minute=0, hour=0, day_of_month="1"),
                             sender.signature("shop.tasks.reports.monthly_invoices"), name="monthly-invoices")
    sender.add_periodic_task(float(os.environ.get("SHOP_HEARTBEAT_SECONDS", "300")),
                             sender.signature("shop.tasks.reports.heartbeat"), name="heartbeat", queue="reports")


# Reading or updating the configuration fires on_after_configure: connect first.
app.conf.update(
    broker_url=BROKER_URL,
    result_backend=BROKER_URL,
    broker_transport_options={"global_keyprefix": KEY_PREFIX},
    result_backend_transport_options={"global_keyprefix": KEY_PREFIX},
    task_default_queue="default",
    task_routes={
        "shop.tasks.emails.*": {"queue": "emails"},
        "shop.tasks.reports.*": {"queue": "reports"},
    },
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_always_eager=os.environ.get("SHOP_EAGER") == "1",
    result_expires=3600,
    timezone="UTC",
    beat_schedule={
        "nightly-sales-report": {
            "task": "shop.tasks.reports.daily_sales",
            "schedule": crontab(minute=30, hour=2),
            "args": ("eu",),
            "options": {"queue": "reports"},
        },
        "cleanup-carts": {
            "task": "shop.tasks.orders.cleanup_carts",
            "schedule": timedelta(minutes=10),
        },
        "weekly-digest": {
            "task": "shop.tasks.emails.weekly_digest",
            "schedule": crontab(minute=0, hour=9, day_of_week="mon"),
            "kwargs": {"audience": "subscribers"},
        },
    },
)


# Signal handlers register themselves on import.
from shop import signals  # noqa: E402,F401
