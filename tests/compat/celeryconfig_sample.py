"""A Celery config module as projects write them (read by test_config)."""
from datetime import timedelta
import os

broker_url = os.environ.get("SAMPLE_BROKER", "redis://127.0.0.1:6379/0")
result_backend = "redis://127.0.0.1:6379/1"
task_default_queue = "sample"
task_soft_time_limit = 30
result_expires = timedelta(hours=2)
worker_prefetch_multiplier = 1
BASE_DIR = "/srv/app"          # not a setting: ignored


def helper():                  # not a setting: ignored
    return 1


class DjangoLikeSettings:
    """Stands in for django.conf.settings: Celery keys under the CELERY_ namespace, others foreign."""

    DEBUG = True
    INSTALLED_APPS = ["tests.compat"]
    CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_ROUTES = {"a.*": {"queue": "qa"}}
    CELERY_ALWAYS_EAGER = True       # an old name under the namespace
    CELERY_WORKER_CONCURRENCY = 7


settings = DjangoLikeSettings()


class BadNamespaced:
    CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    CELERY_TASK_ALWAYS_EAGR = True   # typo: must be reported


class Typo:
    broker_ur1 = "redis://x"


class DjangoWithoutNamespace:
    """Celery 3 style: old names at the top level of Django settings, among the project's own."""

    BROKER_URL = "redis://127.0.0.1:6379/0"
    CELERY_ALWAYS_EAGER = True
    REDIS_HOST = "cache.internal"          # the project's own setting: not read
    CACHES = {"default": {}}
    SECRET_KEY = "x"


class OldNameTypo:
    CELERY_ALWAYS_EAGR = True
