"""The app module a test worker process serves: ``mrqc worker -A mrqc.contrib.testing.worker_app``.

``start_worker_process`` (``mrqc.contrib.testing.process``) describes the test
session's app in ``$MRQC_TEST_WORKER_APP`` (JSON: ``main``, ``config``, the
session app's key ``prefix``, the ``includes`` to import and the
``class_tasks`` to register as ``module:QualName``); this module rebuilds that
app, so the worker process and the test process queue through the same Redis
and the same key prefix. It also relays ``task_received`` to the test process
(``mrqc.contrib.testing.relay``). Not meant to be imported for anything else.
"""
from __future__ import annotations

import importlib
import json
import os

from mrqc import Celery

ENV = "MRQC_TEST_WORKER_APP"


def _load(reference: str) -> object:
    module, _, qualname = reference.partition(":")
    found: object = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def build_app(description: dict) -> Celery:
    """The app ``description`` (see the module docstring) describes, set as current and default."""
    app = Celery(description.get("main") or "celery.tests", set_as_current=False)
    app.conf.update(description.get("config") or {})
    transport = dict(app.conf.broker_transport_options or {})
    transport["global_keyprefix"] = description["prefix"]
    app.conf.broker_transport_options = transport
    app.set_default()
    app.set_current()
    for module in description.get("includes") or ():
        importlib.import_module(module)
    for reference in description.get("class_tasks") or ():
        app.register_task(_load(reference))
    _relay_signals(app)
    return app


def _relay_signals(app: Celery) -> None:
    """Publish each ``task_received`` for the test process (see ``mrqc.contrib.testing.relay``)."""
    from mrqc import signals

    from .relay import publish_task_received

    def relay(sender: object = None, request: object = None, **kwargs: object) -> None:
        publish_task_received(app.runtime.store, request)

    app._mrqc_test_relay = relay  # signals hold receivers weakly: keep it alive with the app
    signals.task_received.connect(relay, weak=False)


if ENV not in os.environ:
    raise RuntimeError(f"mrqc.contrib.testing.worker_app builds the app ${ENV} describes, and ${ENV} is not set; "
                       "it is started by mrqc.contrib.testing.start_worker_process, not imported directly")
app = build_app(json.loads(os.environ[ENV]))
