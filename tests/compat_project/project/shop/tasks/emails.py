"""Emails: routed to the ``emails`` queue by ``task_routes``."""
from celery import shared_task

from shop import effects


@shared_task(rate_limit="100/m")
def send_welcome_email(user_id):
    effects.record("emails:welcome", user_id)
    return f"welcome sent to {user_id}"


@shared_task
def send_reminder(user_id):
    effects.record("emails:reminder", user_id)
    return f"reminder sent to {user_id}"


@shared_task
def weekly_digest(audience="all"):
    effects.record("emails:digest", audience)
    return audience
