"""A Celery app that leans on everything mrqc cannot take over as is."""
from celery import Celery, bootsteps
from celery.app.trace import build_tracer
from celery.worker.request import Request

app = Celery("proj", broker="amqp://guest@localhost//")
app.config_from_object("proj.celeryconfig")


class AuditRequest(Request):
    """Logs every request the worker receives."""


class ConnectionStep(bootsteps.StartStopStep):
    def start(self, worker):
        worker.connections = {}


app.steps["worker"].add(ConnectionStep)
