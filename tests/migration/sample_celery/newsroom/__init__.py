"""newsroom: a small publishing back office whose background work runs on Celery.

The app lives in ``newsroom/celery.py`` (Celery's Django layout) and is
exported here so that ``celery -A newsroom worker`` finds it.
"""
from .celery import app

__all__ = ("app",)
