"""Signal handlers: count published articles (the analytics hook)."""
from celery.signals import task_failure, task_success

from newsroom import effects


@task_success.connect
def count_published(sender=None, result=None, **kwargs):
    if sender is not None and sender.name == "newsroom.tasks.articles.publish":
        effects.record("analytics:published", result)


@task_failure.connect
def count_failures(sender=None, exception=None, **kwargs):
    if sender is not None:
        effects.record("analytics:failed", [sender.name, type(exception).__name__])
