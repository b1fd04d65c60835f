"""Django settings for the newsroom project (trimmed to what the background work needs).

Deployment-specific values come from the environment: ``NEWSROOM_BROKER_URL``,
``NEWSROOM_KEY_PREFIX`` (prefix of every Redis key the queue writes),
``NEWSROOM_HEARTBEAT_SECONDS`` (period of the heartbeat beat entry).
"""
import os
from datetime import timedelta

from celery.schedules import crontab

SECRET_KEY = "newsroom-not-a-secret"
DEBUG = False
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "newsroom"]
TIME_ZONE = "UTC"
USE_TZ = True

REDIS_URL = os.environ.get("NEWSROOM_BROKER_URL", "redis://127.0.0.1:6379/12")
KEY_PREFIX = os.environ.get("NEWSROOM_KEY_PREFIX", "newsroom:")

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": KEY_PREFIX}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": KEY_PREFIX}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "newsroom.tasks.media.*": {"queue": "media"},
    "newsroom.tasks.digest.*": {"queue": "digest"},
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long renders: take one at a time
CELERY_IMPORTS = ("newsroom.tasks.articles", "newsroom.tasks.media", "newsroom.tasks.digest")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "newsroom.tasks.digest.heartbeat",
        "schedule": timedelta(seconds=float(os.environ.get("NEWSROOM_HEARTBEAT_SECONDS", "60"))),
    },
    "morning-digest": {
        "task": "newsroom.tasks.digest.send_digest",
        "schedule": crontab(minute=0, hour=7),
        "kwargs": {"edition": "morning"},
    },
}
