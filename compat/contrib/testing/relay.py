"""Worker-side signals of a test worker process, sent again in the test process.

Celery's test worker runs in the test process, so a test can connect a
receiver to ``task_received`` (sent by the worker when a task arrives) and
see every task the worker gets; Celery's own integration suite does. An mrqc
test worker started for a process pool is another process
(``mrqc.contrib.testing.process``), so its ``task_received`` would reach only
receivers in that process. The relay closes that gap, for test workers only:

* in the worker process (``mrqc.contrib.testing.worker_app``),
  ``publish_task_received`` publishes each request as JSON on the store channel
  ``CHANNEL`` before the task runs;
* in the test process, ``SignalRelay`` (started with the worker) reads them
  and sends ``mrqc.signals.task_received`` with a ``RelayedRequest``: the
  request's fields (``id``, ``task``/``name``, ``args``, ``kwargs``, ``stamps``,
  ``stamped_headers``, ``callbacks``, ``errbacks``, ``chord``, ``root_id``,
  ``parent_id``, ``group``, ``headers``), and Celery's private
  ``_Request__payload`` tuple, which Celery's own tests read.

A receiver sees a task shortly after the worker got it (one pub/sub hop),
before the task's result is stored.
"""
from __future__ import annotations

import json
import logging
import threading
from typing import Any

logger = logging.getLogger("mrqc.contrib.testing")

__all__ = ("CHANNEL", "SignalRelay", "RelayedRequest", "publish_task_received")

CHANNEL = "test-signals:task_received"
FIELDS = ("id", "task", "args", "kwargs", "stamps", "stamped_headers", "callbacks", "errbacks", "chord",
          "root_id", "parent_id", "group", "group_index", "headers", "retries", "eta", "expires", "hostname")


def publish_task_received(store: Any, request: Any) -> None:
    """Publish ``request`` (a worker's task request) on ``CHANNEL`` (worker process side)."""
    data = {name: getattr(request, name, None) for name in FIELDS}
    store.publish(CHANNEL, json.dumps(data, default=repr))


class RelayedRequest:
    """A task request as the test process sees it through the relay (attributes as on ``self.request``)."""

    def __init__(self, data: dict[str, Any]) -> None:
        for name in FIELDS:
            setattr(self, name, data.get(name))
        self.name = self.task_name = self.task
        self.args = tuple(self.args or ())
        self.kwargs = dict(self.kwargs or {})
        for key, value in (self.stamps or {}).items():
            if not hasattr(self, key):
                setattr(self, key, value)
        # Celery's Request keeps the message body as (args, kwargs, embed) in this private name
        self._Request__payload = (self.args, self.kwargs, {"callbacks": self.callbacks, "errbacks": self.errbacks,
                                                           "chain": None, "chord": self.chord})

    def __repr__(self) -> str:
        return f"<RelayedRequest: {self.task}[{self.id}]>"


class SignalRelay:
    """Reads ``CHANNEL`` on ``store`` in a thread and sends ``task_received`` here; ``start()``, ``stop()``."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._stop = threading.Event()
        self._subscription = store.subscribe(CHANNEL)  # subscribed before the worker can publish
        self._thread = threading.Thread(target=self._run, name="mrqc-test-signal-relay", daemon=True)

    def start(self) -> "SignalRelay":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self._subscription.close()
        except Exception:  # noqa: BLE001 - closing a subscription whose connection is gone
            pass

    def _run(self) -> None:
        from mrqc import signals
        while not self._stop.is_set():
            try:
                message = self._subscription.get(0.2)
            except Exception:  # noqa: BLE001 - a lost connection: the store's subscription reconnects
                logger.debug("signal relay: read failed", exc_info=True)
                continue
            if message is None:
                continue
            try:
                request = RelayedRequest(json.loads(message))
                signals.task_received.send(sender=None, request=request)
            except Exception:  # noqa: BLE001 - a receiver's error must not stop the relay
                logger.exception("signal relay: a task_received receiver raised")
