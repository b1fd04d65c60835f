"""Periodic work (CELERY_BEAT_SCHEDULE), routed to the ``digest`` queue."""
from celery import shared_task

from newsroom import effects


@shared_task
def heartbeat():
    effects.record("heartbeat", 1)
    return "alive"


@shared_task
def send_digest(edition="morning"):
    effects.record("digest", edition)
    return f"{edition} digest sent"
