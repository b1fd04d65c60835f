"""The newsroom's Celery app, configured from the Django-style settings module (CELERY_* names)."""
from celery import Celery

app = Celery("newsroom")

# Every CELERY_* name in newsroom/settings.py is a Celery setting.
app.config_from_object("newsroom.settings", namespace="CELERY")

# Signal handlers register themselves on import.
from newsroom import signals  # noqa: E402,F401
