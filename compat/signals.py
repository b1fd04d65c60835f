"""Celery's signals, with Celery's names and keyword arguments.

::

    from mrqc.signals import task_success

    @task_success.connect
    def on_success(sender=None, result=None, **kwargs): ...

    @task_success.connect(sender="proj.tasks.add")   # only for this task (name or task object)
    def on_add(sender=None, result=None, **kwargs): ...

Receivers must accept ``**kwargs``. A receiver that raises is logged and does
not stop the task or the other receivers (as Celery's ``send`` does).

Where each is sent: ``before_task_publish``/``after_task_publish`` by the
caller; ``task_received`` when a worker starts a job; ``task_prerun``,
``task_postrun``, ``task_success``, ``task_failure``, ``task_retry``,
``task_revoked`` inside the worker around each Celery task, by the tracer
(``mrqc.trace``, shared with ``apply()``/eager mode, which sends them too); ``worker_init``, ``worker_ready``,
``worker_shutdown`` by the mrqcore middleware that the compat layer registers;
``setup_logging``, ``after_setup_logger`` and ``after_setup_task_logger`` by
``mrqc worker`` when it sets up its log (a hook in ``mrqcore.logs``, below): as
in Celery, a receiver connected to ``setup_logging`` means "I configure
logging": the worker then adds no handler of its own.
"""
from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, Callable

logger = logging.getLogger("mrqc.signals")


class Signal:
    """A named signal: ``connect`` receivers, ``send`` calls them all with keyword arguments."""

    def __init__(self, name: str, providing_args: set[str] | None = None) -> None:
        self.name = name
        self.providing_args = providing_args or set()
        self._receivers: list[tuple[Any, Any, Callable[..., Any] | weakref.ref]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Signal: {self.name} providing_args={sorted(self.providing_args)}>"

    def connect(self, receiver: Callable[..., Any] | None = None, sender: Any = None, weak: bool = False,
                dispatch_uid: Any = None, **kwargs: Any) -> Any:
        """Connect ``receiver``; usable as ``@sig.connect`` or ``@sig.connect(sender=...)``."""
        if receiver is None:
            def decorator(fun: Callable[..., Any]) -> Callable[..., Any]:
                self.connect(fun, sender=sender, weak=weak, dispatch_uid=dispatch_uid)
                return fun
            return decorator
        if not callable(receiver):
            raise TypeError(f"signal {self.name}: receiver must be callable, got {receiver!r}")
        key = dispatch_uid if dispatch_uid is not None else _receiver_key(receiver)
        ref: Any = receiver
        if weak:
            try:
                ref = weakref.WeakMethod(receiver) if hasattr(receiver, "__self__") else weakref.ref(receiver)
            except TypeError:
                ref = receiver
        with self._lock:
            if not any(k == key and s == _sender_key(sender) for k, s, _ in self._receivers):
                self._receivers.append((key, _sender_key(sender), ref))
        return receiver

    def disconnect(self, receiver: Callable[..., Any] | None = None, sender: Any = None,
                   dispatch_uid: Any = None) -> bool:
        key = dispatch_uid if dispatch_uid is not None else _receiver_key(receiver)
        with self._lock:
            before = len(self._receivers)
            self._receivers = [r for r in self._receivers if not (r[0] == key and r[1] == _sender_key(sender))]
            return len(self._receivers) != before

    @property
    def receivers(self) -> list[Callable[..., Any]]:
        out = []
        for _, _, ref in list(self._receivers):
            fun = ref() if isinstance(ref, weakref.ref) else ref
            if fun is not None:
                out.append(fun)
        return out

    def has_listeners(self, sender: Any = None) -> bool:
        return bool(self._live(sender))

    def _live(self, sender: Any) -> list[Callable[..., Any]]:
        key = _sender_key(sender)
        out = []
        for _, wanted, ref in list(self._receivers):
            if wanted is not None and wanted != key:
                continue
            fun = ref() if isinstance(ref, weakref.ref) else ref
            if fun is not None:
                out.append(fun)
        return out

    def send(self, sender: Any, **named: Any) -> list[tuple[Callable[..., Any], Any]]:
        """Call every receiver (for ``sender``) as ``receiver(signal=self, sender=sender, **named)``."""
        responses = []
        for receiver in self._live(sender):
            try:
                responses.append((receiver, receiver(signal=self, sender=sender, **named)))
            except Exception as exc:  # a receiver must never break the task
                logger.exception("signal %s: receiver %r raised", self.name, receiver)
                responses.append((receiver, exc))
        return responses

    send_robust = send


def _receiver_key(receiver: Any) -> Any:
    """A bound method is a new object at each attribute access: key it by its instance and function (as
    Celery does), so ``disconnect(obj.method)`` finds what ``connect(obj.method)`` added."""
    if hasattr(receiver, "__self__") and hasattr(receiver, "__func__"):
        return (id(receiver.__self__), id(receiver.__func__))
    return id(receiver)


def _sender_key(sender: Any) -> Any:
    """Tasks match by name, so ``sender=add`` and ``sender="proj.tasks.add"`` are the same."""
    if sender is None:
        return None
    name = getattr(sender, "name", None)
    if isinstance(name, str):
        return name
    return sender if isinstance(sender, (str, int)) else id(sender)


before_task_publish = Signal("before_task_publish", {"body", "exchange", "routing_key", "headers",
                                                     "properties", "declare", "retry_policy"})
after_task_publish = Signal("after_task_publish", {"body", "exchange", "routing_key", "headers"})
task_received = Signal("task_received", {"request"})
task_prerun = Signal("task_prerun", {"task_id", "task", "args", "kwargs"})
task_postrun = Signal("task_postrun", {"task_id", "task", "args", "kwargs", "retval", "state"})
task_success = Signal("task_success", {"result"})
task_retry = Signal("task_retry", {"request", "reason", "einfo"})
task_failure = Signal("task_failure", {"task_id", "exception", "args", "kwargs", "traceback", "einfo"})
task_internal_error = Signal("task_internal_error", {"task_id", "args", "kwargs", "request", "exception",
                                                     "traceback", "einfo"})
task_revoked = Signal("task_revoked", {"request", "terminated", "signum", "expired"})
task_rejected = Signal("task_rejected", {"message", "exc"})
task_unknown = Signal("task_unknown", {"message", "exc", "name", "id"})
celeryd_init = Signal("celeryd_init", {"instance", "conf", "options"})
worker_init = Signal("worker_init")
worker_process_init = Signal("worker_process_init")
worker_ready = Signal("worker_ready")
worker_shutdown = Signal("worker_shutdown")
worker_process_shutdown = Signal("worker_process_shutdown", {"pid", "exitcode"})
import_modules = Signal("import_modules")
# Sent by the worker's logging set-up (see _LoggingSignals at the end of this module).
setup_logging = Signal("setup_logging", {"loglevel", "logfile", "format", "colorize"})
after_setup_logger = Signal("after_setup_logger", {"logger", "loglevel", "logfile", "format", "colorize"})
after_setup_task_logger = Signal("after_setup_task_logger", {"logger", "loglevel", "logfile", "format", "colorize"})
# Defined so projects that connect to them import unchanged; mrqc does not send them
# (there is no prefork pool, eventlet pool or event heartbeat).
celeryd_after_setup = Signal("celeryd_after_setup", {"instance", "conf"})
worker_before_create_process = Signal("worker_before_create_process")
worker_shutting_down = Signal("worker_shutting_down", {"sig", "how", "exitcode"})
beat_init = Signal("beat_init")
beat_embedded_init = Signal("beat_embedded_init")
heartbeat_sent = Signal("heartbeat_sent")
eventlet_pool_started = Signal("eventlet_pool_started")
eventlet_pool_preshutdown = Signal("eventlet_pool_preshutdown")
eventlet_pool_postshutdown = Signal("eventlet_pool_postshutdown")
eventlet_pool_apply = Signal("eventlet_pool_apply", {"target", "args", "kwargs"})

__all__ = ["Signal", "before_task_publish", "after_task_publish", "task_received", "task_prerun",
           "task_postrun", "task_success", "task_retry", "task_failure", "task_internal_error",
           "task_revoked", "task_rejected", "task_unknown", "celeryd_init", "worker_init",
           "worker_process_init", "worker_ready", "worker_shutdown", "worker_process_shutdown",
           "import_modules", "celeryd_after_setup", "worker_before_create_process", "worker_shutting_down",
           "setup_logging", "after_setup_logger", "after_setup_task_logger", "beat_init", "beat_embedded_init",
           "heartbeat_sent", "eventlet_pool_started", "eventlet_pool_preshutdown", "eventlet_pool_postshutdown",
           "eventlet_pool_apply"]


class _LoggingSignals:
    """Celery's logging signals, sent from ``mrqcore.logs.setup_worker_logging`` (a logging hook)."""

    def setup(self, level: int, log_format: str) -> bool:
        if not setup_logging.has_listeners():
            return False
        setup_logging.send(sender=None, loglevel=level, logfile=None, format=log_format, colorize=False)
        return True  # as in Celery: a receiver means the project configures logging itself

    def after_setup(self, root: logging.Logger, task: logging.Logger, level: int, log_format: str) -> None:
        after_setup_logger.send(sender=None, logger=root, loglevel=level, logfile=None, format=log_format,
                                colorize=False)
        after_setup_task_logger.send(sender=None, logger=task, loglevel=level, logfile=None, format=log_format,
                                     colorize=False)


def _install_logging_signals() -> None:
    from mrqcore.logs import add_logging_hook
    add_logging_hook(_logging_signals)


_logging_signals = _LoggingSignals()
_install_logging_signals()
