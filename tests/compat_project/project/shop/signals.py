"""Signal handlers: an audit trail of every task run, written to the shop's effects store."""
from celery.signals import task_failure, task_postrun, task_prerun, task_success

from shop import effects


@task_prerun.connect
def on_prerun(sender=None, task_id=None, task=None, args=None, kwargs=None, **extra):
    effects.record("signal:prerun:" + task_id, task.name)


@task_postrun.connect
def on_postrun(sender=None, task_id=None, task=None, retval=None, state=None, **extra):
    effects.record("signal:postrun:" + task_id, state)


@task_success.connect
def on_success(sender=None, result=None, **extra):
    effects.record("signal:success:" + sender.request.id, sender.name)


@task_failure.connect
def on_failure(sender=None, task_id=None, exception=None, **extra):
    effects.record("signal:failure:" + task_id, type(exception).__name__)
