"""The Celery wire: how an app with ``celery_wire`` on joins a running Celery fleet.

Turned on by the app setting ``celery_wire = True``, ``$MRQC_CELERY_WIRE=1``
or ``mrqc worker -A proj --celery-wire``. Then:

* a worker bound to the app (``mrqc.bridge.bind``) gets ``WireMiddleware``:
  at ``worker_start`` it adds the consumer service (``WireConsumer``: Celery
  messages on the app's broker become mrqc jobs) and, after each job, writes
  the result in Celery's format to a Redis ``result_backend``
  (``CeleryResultWriter``) and, for a chord header task, joins its chord
  there as Celery does (``mrqc.adapters.chords``);
* the app's calls (``.delay``, ``apply_async``, ``send_task``, chains) are
  published as Celery messages (``publisher(app)``, used by ``mrqc.calling``);
* the app's ``AsyncResult`` reads Celery's result keys (``results(app)``, used
  by ``mrqc.result``).

See docs/migrating-a-fleet.md.
"""
from __future__ import annotations

import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

import click
from mrqcore import middleware

if TYPE_CHECKING:
    from mrqc.app import Celery
    from mrqcore.execution import RunningJob
    from mrqcore.runtime import Runtime
    from mrqcore.worker import Worker

    from .publisher import Publisher
    from .results import WireResults

__all__ = ("WireMiddleware", "attach", "publisher", "results", "register")

_lock = threading.Lock()
_publishers: "weakref.WeakKeyDictionary[Celery, Publisher]" = weakref.WeakKeyDictionary()
_results: "weakref.WeakKeyDictionary[Celery, WireResults | None]" = weakref.WeakKeyDictionary()


class WireMiddleware(middleware.Middleware):
    """The wire on a worker's runtime: the consumer service and the Celery-format result writer."""

    def __init__(self, app: "Celery") -> None:
        from .chords import ChordJoiner
        from .results import CeleryResultWriter
        self.app = app
        self.writer = CeleryResultWriter(app)
        self.chords = ChordJoiner(app)
        self.consumer: Any = None

    def worker_start(self, worker: "Worker") -> None:
        from .consumer import WireConsumer
        self.consumer = WireConsumer(self.app, worker)
        worker.add_service(self.consumer.run)

    def after_perform(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        self.writer.after_perform(job, status, result, exc)  # the part's result first, as Celery stores it
        self.chords.part_ended(job, status, result, exc)
        from .chords import continue_chain
        continue_chain(self.app, job, status, result)


def attach(app: "Celery", runtime: "Runtime") -> None:
    """Give ``runtime`` the wire of ``app`` (once per app and runtime)."""
    for item in runtime.middleware:
        if isinstance(item, WireMiddleware) and item.app is app:
            return
    runtime.middleware.register(WireMiddleware(app))


def publisher(app: "Celery") -> "Publisher":
    """The app's publisher (one per app)."""
    with _lock:
        found = _publishers.get(app)
        if found is None:
            from .publisher import Publisher
            found = _publishers[app] = Publisher(app)
        return found


def results(app: "Celery") -> "WireResults | None":
    """The app's reader of Celery's result keys; None when ``result_backend`` is not a Redis."""
    with _lock:
        if app not in _results:
            from .results import WireResults, backend_for
            backend = backend_for(app)
            _results[app] = WireResults(backend) if backend is not None else None
        return _results[app]


def _turn_on(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value:
        os.environ["MRQC_CELERY_WIRE"] = "1"  # read by the app (mrqc.settings.wire_on), here and in children
    return value


def register(cli: click.Group) -> None:
    """Entry point (``mrqc.cli``): ``mrqc worker --celery-wire``."""
    worker = cli.commands.get("worker")
    if worker is None or any(p.name == "celery_wire" for p in worker.params):
        return
    # eager: set before -A's app is read (click processes eager parameters first)
    worker.params.append(click.Option(["--celery-wire"], is_flag=True, default=False, expose_value=False,
                                      is_eager=True, callback=_turn_on,
                                      help="Also consume Celery messages from the app's broker and write "
                                           "results in Celery's format (docs/migrating-a-fleet.md)."))
