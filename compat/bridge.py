"""The one bridge from the Celery layer into mrqcore.

Everything compat needs from mrqcore's insides goes through here:

| Celery side | this module | mrqcore side |
|---|---|---|
| an app's task, by name | ``job_class``, ``find_job_class`` | a task finder (``add_task_finder``) |
| worker signals, revoke-terminate | ``CompatMiddleware``, ``attach`` | ``runtime.middleware`` |
| the app's settings | ``runtime_settings``, ``worker_options`` | ``Config.load(overrides=...)`` |
| the app's runtime | ``app_runtime``, ``own_runtime``, ``bind`` | ``set_runtime_provider`` |

**Celery tasks as mrqcore tasks.** ``job_class(app, name)`` is a generated
``mrqcore.task.Task`` subclass whose ``run(self, params)`` takes
``{"args": [...], "kwargs": {...}}`` and hands the job to ``mrqc.trace``. Its
mrqcore settings are read from the Celery task when the worker first needs
them (``timeout`` = hard time limit, 0 when none: Celery tasks have no limit
by default; ``result_ttl`` = ``result_expires``; ``queue`` = the routed queue).
The tasks stay owned by their app (``app.tasks``); every runtime finds them by
name through ``find_job_class``: apps bound to that runtime first, then the
current app, then the others.

**The app's runtime** (the rule is in ``mrqcore.runtime`` and
docs/configuration.md). An app that is bound to a runtime (``bind``: ``mrqc
worker -A``, the pytest fixtures) uses it. Else an app whose ``broker_url`` is
a Redis URL owns a runtime built from its own settings
(``runtime_settings``: ``broker_url`` -> ``redis`` (a ``sentinel://`` one with
``broker_transport_options["master_name"]`` in its query),
``broker_transport_options["global_keyprefix"]`` -> ``redis_prefix``,
``task_default_queue`` -> ``default_queue``, over the usual mrqc config
sources). An app with no broker (or ``memory://``) uses the process's runtime
(``mrqcore.runtime.get_runtime()``). ``install()`` makes the current app's own
runtime the one ``queue_job`` & co. use when no runtime is explicit.

**mrqc's own store** (``store_url``, one rule): ``broker_url`` when it is a
Redis and ``celery_wire`` is off (today's rule). Otherwise (``celery_wire``
on, or an ``amqp://`` broker): the ``mrqc_redis`` setting, else
``$MRQC_REDIS``, else ``result_backend`` when it
is a Redis, else ``broker_url`` when it is a Redis, else none of its own:
the process's runtime (mrqcore's ``redis`` setting, or the embedded Redis).

**The Celery wire** (``celery_wire``, docs/migrating-a-fleet.md): ``bind``
hands a bound runtime to ``mrqc.adapters.wire.attach`` (the kombu consumer
service and the Celery-format result writer); ``wire_publisher`` and
``wire_results`` give calling.py and result.py the app's wire, or None.

**Worker signals.** ``CompatMiddleware`` (attached to every runtime an app
uses) sends ``worker_init``/``worker_ready`` at worker start,
``worker_shutdown`` at stop, and adds Celery's task commands to the worker's
remote control (``mrqc.control_remote.attach_worker``: ``registered``,
``rate_limit``, ``time_limit``; a terminated job ends through ``RevokedInterrupt``).
"""
from __future__ import annotations

import abc
import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from mrqcore import middleware, task as core_task
from mrqcore.config import Config
from mrqcore.runtime import Runtime, explicit_runtime, get_runtime, set_runtime_provider

from . import _state, signals

if TYPE_CHECKING:
    from mrqcore.worker import Worker

    from .app import Celery
    from .task import Task

logger = logging.getLogger("mrqc.worker")

__all__ = ("CeleryJobTask", "CompatMiddleware", "job_class", "find_job_class", "attach", "bind", "app_runtime",
           "own_runtime", "runtime_settings", "worker_options", "settings_changed", "install", "store_url",
           "wire_publisher", "wire_results")

#: Celery's logging settings -> the mrqcore settings ``mrqc worker -A`` takes them as
LOG_SETTINGS = {"worker_log_format": "log_worker_format", "worker_task_log_format": "log_task_format",
                "worker_hijack_root_logger": "log_hijack_root_logger"}
#: settings whose change makes an app rebuild the runtime it built from them
RUNTIME_SETTINGS = ("broker_url", "broker_transport_options", "task_default_queue", "celery_wire", "mrqc_redis",
                    "result_backend")


# --- Celery tasks as mrqcore tasks -----------------------------------------------------------


class _JobClassMeta(abc.ABCMeta):
    """Class-level settings mrqcore reads (``getattr(cls, "timeout")``), computed from the Celery task."""

    @property
    def timeout(cls) -> float:  # type: ignore[override]
        hard, _ = cls.celery_task()._time_limits()
        return float(hard or 0)

    @property
    def result_ttl(cls) -> int | None:  # type: ignore[override]
        seconds = cls.celery_task()._get_app().conf.seconds("result_expires")
        return None if seconds is None else int(seconds)

    @property
    def queue(cls) -> str:  # type: ignore[override]
        task = cls.celery_task()
        return task._get_app().queue_for(task.name, task=task)


class CeleryJobTask(core_task.Task, metaclass=_JobClassMeta):
    """Base of the generated classes; ``run`` executes the Celery task for one job."""

    celery_app: "Celery"
    celery_name: str
    # retries are decided by Celery's rules in mrqc.trace, never by mrqcore's max_retries
    max_retries = None
    retry_delay = None

    @classmethod
    def celery_task(cls) -> "Task":
        return cls.celery_app.tasks[cls.celery_name]

    def run(self, params: dict[str, Any]) -> Any:
        from .trace import run_job
        return run_job(type(self).celery_task(), params)


_job_classes: "weakref.WeakKeyDictionary[Celery, dict[str, type[CeleryJobTask]]]" = weakref.WeakKeyDictionary()
_classes_lock = threading.Lock()
_runtime_lock = threading.RLock()


def job_class(app: "Celery", name: str) -> type[CeleryJobTask]:
    """The mrqcore Task class that runs ``app``'s task ``name`` (one class per app and name)."""
    classes = _job_classes.get(app)
    cls = classes.get(name) if classes is not None else None
    if cls is None:
        with _classes_lock:
            classes = _job_classes.setdefault(app, {})
            cls = classes.get(name)
            if cls is None:
                cls = _JobClassMeta(f"CeleryJob[{name}]", (CeleryJobTask,),
                                    {"celery_app": app, "celery_name": name, "__module__": __name__})
                classes[name] = cls
    return cls


def find_job_class(name: str, runtime: Runtime | None) -> type[CeleryJobTask] | None:
    """The task finder: the job class of the first app that has a task ``name``, or None."""
    for app in _apps_for(runtime):
        if app.tasks.get(name) is not None:
            return job_class(app, name)
    return None


def _apps_for(runtime: Runtime | None) -> list["Celery"]:
    from .app import Celery
    apps = [a for a in _state.all_apps() if isinstance(a, Celery)]
    current = _state.peek_current_app()
    ordered = [a for a in apps if runtime is not None and a._runtime is runtime]
    if isinstance(current, Celery) and current not in ordered:
        ordered.append(current)
    return ordered + [a for a in apps if a not in ordered]


# --- the app's runtime ---------------------------------------------------------------------


def runtime_settings(app: "Celery") -> dict[str, Any]:
    """The mrqcore settings an app's own runtime takes from the app (over the usual config sources)."""
    conf = app.conf
    settings: dict[str, Any] = {}
    url = store_url(app)
    transport = conf.broker_transport_options or {}
    if url:
        settings["redis"] = _sentinel_url(url, transport) if url.startswith(("sentinel:", "redis+sentinel:")) else url
    prefix = transport.get("global_keyprefix") if hasattr(transport, "get") else None
    if prefix:
        settings["redis_prefix"] = str(prefix)
    if conf.is_set("task_default_queue"):
        settings["default_queue"] = conf.task_default_queue
    return settings


def worker_options(app: "Celery") -> dict[str, Any]:
    """Settings ``mrqc worker -A`` takes from ``app`` (``app.mrqc_worker_options()``, called by mrqcore/cli.py).

    ``runtime_settings`` plus: the queues to serve (default queue, each task's
    queue, route queues, ``task_queues``), the modules to import, the worker
    limits (``worker_concurrency`` -> ``greenlets``...), and the
    ``beat_schedule`` entries as ``scheduler_tasks``. Finalizes the app.
    """
    app.finalize()
    conf = app.conf
    options: dict[str, Any] = {"queues": app._worker_queues(), "imports": list(app._imported_modules)}
    options.update(runtime_settings(app))
    if conf.worker_concurrency:
        options["greenlets"] = int(conf.worker_concurrency)
    if conf.worker_max_tasks_per_child:
        options["max_jobs"] = int(conf.worker_max_tasks_per_child)
    if conf.worker_max_memory_per_child:
        options["max_memory"] = max(1, int(conf.worker_max_memory_per_child) // 1024)
    # Celery's signals: SIGTERM warm, SIGQUIT cold after the soft timeout (docs/worker.md, Stopping).
    options["shutdown_signals"] = "celery"
    if conf.worker_soft_shutdown_timeout:
        options["soft_shutdown_timeout"] = _seconds_setting(conf.worker_soft_shutdown_timeout,
                                                            "worker_soft_shutdown_timeout")
    for celery_name, core_name in LOG_SETTINGS.items():  # see mrqc.settings, mrqcore.logs
        if conf.is_set(celery_name):
            options[core_name] = conf[celery_name]
    if conf.beat_schedule:  # run by `mrqc worker -A proj --scheduler` (see mrqc.beat)
        from .beat import scheduler_tasks
        options["scheduler_tasks"] = scheduler_tasks(app)
        # Periodic runs routed to their own queue are served too (Celery would need -Q).
        for entry in options["scheduler_tasks"]:
            if entry.get("queue") and entry["queue"] not in options["queues"]:
                options["queues"].append(entry["queue"])
    return options


def _seconds_setting(value: Any, name: str) -> float:
    try:
        seconds = float(value.total_seconds() if hasattr(value, "total_seconds") else value)
    except (TypeError, ValueError):
        seconds = -1.0
    if seconds < 0:
        from .exceptions import ImproperlyConfigured
        raise ImproperlyConfigured(f"setting {name!r}: expected a number of seconds >= 0, got {value!r}")
    return seconds


def own_runtime(app: "Celery") -> Runtime | None:
    """The runtime ``app`` owns: the bound one, else one built from its settings if it has a Redis broker."""
    runtime = app._runtime
    if runtime is not None:
        return runtime
    from .eager import memory_runtime
    memory = memory_runtime(app)  # broker_url memory://: the app's in-process memory store
    if memory is not None:
        attach(memory)
        return memory
    if not store_url(app):  # reading conf may configure the app (signals): no lock held here
        return None
    settings = runtime_settings(app)
    with _runtime_lock:
        if app._runtime is None:
            runtime = Runtime(Config.load(overrides=settings))
            attach(runtime)
            app._runtime = runtime
        return app._runtime


def app_runtime(app: "Celery") -> Runtime:
    """The runtime ``app`` publishes and reads results through (``app.runtime``)."""
    runtime = own_runtime(app)
    if runtime is None:
        runtime = get_runtime()
        attach(runtime)
    return runtime


def bind(app: "Celery", runtime: Runtime) -> None:
    """Make ``runtime`` the app's own, whatever its settings say (``mrqc worker -A``, test fixtures)."""
    attach(runtime)
    app._runtime = runtime
    app._runtime_bound = True
    if wire_enabled(app):
        from mrqc.adapters import wire
        wire.attach(app, runtime)


def settings_changed(app: "Celery", name: str) -> None:
    """A setting changed: forget a runtime that was built from the old settings (a bound one stays)."""
    if name in RUNTIME_SETTINGS and not app._runtime_bound:
        app._runtime = None


def _is_redis(url: Any) -> bool:
    return isinstance(url, str) and url.split("://")[0] in ("redis", "rediss", "unix", "sentinel", "redis+sentinel",
                                                           "redis+cluster", "rediss+cluster")


def wire_enabled(app: "Celery") -> bool:
    """``celery_wire`` is on for ``app`` (the setting, or ``$MRQC_CELERY_WIRE``)."""
    from .settings import wire_on
    return wire_on({"celery_wire": app.conf.peek("celery_wire")})


def store_url(app: "Celery") -> str | None:
    """The Redis URL of the app's own mrqc store, or None (use the process's runtime); rule in the docstring."""
    broker = app.conf.broker_url
    if _is_redis(broker) and not wire_enabled(app):
        return broker
    if app.conf.mrqc_redis:
        return app.conf.mrqc_redis
    if os.environ.get("MRQC_REDIS"):
        return os.environ["MRQC_REDIS"]
    backend = app.conf.result_backend
    for url in (backend, broker):
        if _is_redis(url):
            return url
    return None


def wire_publisher(app: "Celery") -> Any:
    """The app's Celery-protocol publisher when ``celery_wire`` is on, else None (calling.py's seam)."""
    if not wire_enabled(app):
        return None
    from mrqc.adapters import wire
    return wire.publisher(app)


def wire_results(app: "Celery") -> Any:
    """The app's reader of Celery-format results when ``celery_wire`` is on, else None (result.py's seam)."""
    if not wire_enabled(app):
        return None
    from mrqc.adapters import wire
    return wire.results(app)


def _sentinel_url(url: str, transport: Any) -> str:
    """Celery's ``sentinel://`` URL with its transport options (``master_name``, ``sentinel_kwargs``) in the query.

    mrqcore's URL form is in ``mrqcore.store.redis_sentinel``; ``master_name``
    and a ``sentinel_kwargs`` password/username become query parameters.
    """
    from urllib.parse import urlencode
    options = transport if hasattr(transport, "get") else {}
    extra = {"master_name": options.get("master_name")}
    sentinel_kwargs = options.get("sentinel_kwargs") or {}
    extra["sentinel_password"] = sentinel_kwargs.get("password")
    extra["sentinel_username"] = sentinel_kwargs.get("username")
    query = urlencode({k: v for k, v in extra.items() if v})
    return url + ("&" if "?" in url else "?") + query if query else url


def _current_app_runtime() -> Runtime | None:
    """Rule 2 of ``mrqcore.runtime``: the current app's own runtime, if it has one."""
    from .app import Celery
    app = _state.peek_current_app()
    if not isinstance(app, Celery):
        return None
    return own_runtime(app)


def on_app_created(app: "Celery") -> None:
    """An app was created: give the explicit runtime (a worker importing task modules) Celery's middleware."""
    runtime = explicit_runtime()
    if runtime is not None:
        attach(runtime)


# --- worker signals -------------------------------------------------------------------------


class CompatMiddleware(middleware.Middleware):
    """Celery's worker signals, and terminate-on-revoke."""

    def worker_start(self, worker: "Worker") -> None:
        signals.worker_init.send(sender=worker)
        signals.worker_process_init.send(sender=worker)
        from .control_remote import attach_worker
        attach_worker(worker)  # remote control: Celery's task commands, revoke-terminate as RevokedInterrupt
        signals.worker_ready.send(sender=worker)

    def worker_stop(self, worker: "Worker") -> None:
        signals.worker_shutdown.send(sender=worker)
        signals.worker_process_shutdown.send(sender=worker, pid=None, exitcode=0)


_middleware = CompatMiddleware()


def attach(runtime: Runtime) -> None:
    """Add Celery's worker middleware to ``runtime`` (once)."""
    if _middleware not in runtime.middleware:
        runtime.middleware.register(_middleware)


def install() -> None:
    """Plug the Celery layer into mrqcore: the task finder and the runtime provider (idempotent)."""
    core_task.add_task_finder(find_job_class)
    set_runtime_provider(_current_app_runtime)


install()
