"""The sample shop: a small Celery project used as mrqc's acceptance test.

Layout follows Celery's "First steps with Django"/"Project layout" docs:
the app lives in ``shop/celery.py`` and is exported here so that
``celery -A shop worker`` (and ``mrqc worker -A shop``) find it.
"""
from .celery import app

__all__ = ("app",)
