"""Class-based tasks: a base class with hooks, and a task written as a class."""
from celery import Task

from shop import effects
from shop.celery import app


class AuditedTask(Task):
    """Base for tasks whose outcome goes to the audit trail (``base=AuditedTask``)."""

    def on_success(self, retval, task_id, args, kwargs):
        effects.record("audit:success:" + task_id, {"task": self.name, "retval": retval})

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        effects.record("audit:failure:" + task_id, {"task": self.name, "exc": type(exc).__name__,
                                                    "args": list(args)})


class ExportCatalog(app.Task):
    """A task written as a class and registered explicitly."""

    name = "shop.tasks.base.export_catalog"

    def run(self, fmt, skus):
        if fmt not in ("csv", "json"):
            raise ValueError(f"unknown export format {fmt!r}")
        effects.record("export:" + fmt, skus)
        return {"format": fmt, "rows": len(skus)}

    def on_success(self, retval, task_id, args, kwargs):
        effects.record("audit:success:" + task_id, {"task": self.name, "retval": retval})


export_catalog = app.register_task(ExportCatalog())
