from celery import shared_task
from celery.contrib.abortable import AbortableTask

from .celery import app


@app.task(bind=True, priority=9, Request="proj.celery.AuditRequest")
def ingest(self, batch):
    if len(batch) > 100:
        return self.replace(split.s(batch))
    return len(batch)


@shared_task(bind=True)
def split(self, batch):
    for part in (batch[:50], batch[50:]):
        self.add_to_chord(ingest.s(part))


@app.task(base=AbortableTask)
def crawl(url):
    return url


def restart_pools():
    return app.control.pool_restart(reload=True)


def elect():
    app.control.election("id", "topic")
