"""``Celery``: the application object, as in ``celery.Celery``.

::

    app = Celery("proj", broker="redis://localhost:6379/0", include=["proj.tasks"])
    app.config_from_object("django.conf:settings", namespace="CELERY")

    @app.task
    def add(x, y): return x + y

``mrqc worker -A proj`` imports the module, finds the app (``module:attr``,
else ``app``/``celery`` in the module or in ``proj.celery``) and calls
``app.mrqc_worker_options()``: the queues to serve (default queue, each task's
queue, route queues, ``task_queues``), the modules to import (``include``,
``imports``, autodiscovered ``tasks`` modules), the Redis URL from
``broker_url``, and the ``beat_schedule`` entries as mrqcore
``scheduler_tasks`` (run with ``--scheduler``, converted by ``mrqc.beat``).

Configuration happens as in Celery: the first read of ``app.conf`` (or
``finalize()``, or the first publish) sends ``on_configure`` and
``on_after_configure`` once; writes before it do not.

Periodic tasks (for beat, which lives in ``mrqc.beat``): entries are stored
where Celery stores them, in ``app.conf.beat_schedule`` (a dict ``{name:
{"schedule": ..., "task": name, "args": (...), "kwargs": {...}, "options":
{...}}}``). ``add_periodic_task`` adds to that same dict (in place), and also
keeps its own entries in ``app._periodic_tasks`` (same shape). Call
``app.finalize()`` first: it sends ``on_after_configure`` (where Celery
projects usually call ``add_periodic_task``), imports the task modules and
sends ``on_after_finalize``, each once.

The runtime (``app.runtime``): an app owns one. Bound by ``mrqc worker -A``
(the worker's own) or a test fixture; else, when ``broker_url`` names a Redis,
built from the app's settings over the usual mrqc config sources; an app with
no broker uses the process's runtime. ``queue_job`` with no runtime uses the
current app's. The rule and the settings translation live in ``mrqc.bridge``.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import _state, routing
from .app_config import ConfigSources
from .app_tasks import TaskFactory
from .exceptions import UnsupportedOption
from .control import Control, Loader, TaskRegistry
from .settings import Settings
from .signals import Signal
from .task import Task
from .utils import import_object

if TYPE_CHECKING:
    from mrqcore.runtime import Runtime

    from .result import AsyncResult, GroupResult


class Celery(TaskFactory, ConfigSources):
    """A Celery application. See the module docstring for the worker and beat contract.

    Making tasks (``task``, ``register_task``, ``Task``, ``gen_task_name``) is
    inherited from ``mrqc.app_tasks.TaskFactory``; reading configuration and
    finding task modules (``config_from_object``, ``config_from_envvar``,
    ``autodiscover_tasks``) from ``mrqc.app_config.ConfigSources``.
    """

    #: a fresh default app is created with this name by ``current_app`` when none exists
    SYSTEM = "mrqc"

    def __init__(self, main: str | None = None, loader: Any = None, backend: str | None = None,
                 amqp: Any = None, events: Any = None, log: Any = None, control: Any = None,
                 set_as_current: bool = True, tasks: Any = None, broker: str | None = None,
                 include: Iterable[str] | None = None, changes: dict[str, Any] | None = None,
                 config_source: Any = None, fixups: Any = None, task_cls: Any = None,
                 autofinalize: bool = True, namespace: str | None = None, strict_typing: bool = True,
                 **kwargs: Any) -> None:
        for option, value in (("loader", loader), ("amqp", amqp), ("events", events), ("log", log),
                              ("control", control), ("tasks", tasks)):
            if value is not None:
                raise UnsupportedOption(f"Celery({option}=...) is not supported by mrqc")
        self.main = main
        self.namespace = namespace
        self.strict_typing = strict_typing
        self.autofinalize = autofinalize
        self.tasks = TaskRegistry()
        self.configured = False
        self.on_configure = Signal("app.on_configure")
        self.on_after_configure = Signal("app.on_after_configure")
        self.on_after_finalize = Signal("app.on_after_finalize")
        self.on_after_fork = Signal("app.on_after_fork")
        self.conf = Settings(on_change=self._on_conf_change, on_first_read=self._ensure_configured)
        self.control = Control(self)
        self.loader = Loader(self)
        self.finalized = False
        self._autodiscover: list[tuple[Any, str]] = []
        self._imported_modules: list[str] = []
        self._periodic_tasks: dict[str, dict[str, Any]] = {}
        self._runtime: Runtime | None = None
        self._runtime_bound = False
        self._routers: list[Callable[..., Any]] | None = None
        self._result_cls: Any = None
        self._group_result_cls: Any = None
        base = task_cls if task_cls is not None else Task
        if isinstance(base, str):
            base = import_object(base, "Celery(task_cls=...)")
        self._task_base = base
        self._task_cls: type[Task] | None = None
        settings = dict(changes or {})
        if broker is not None:
            settings["broker_url"] = broker
        if backend is not None:
            settings["result_backend"] = backend
        if include is not None:
            settings["include"] = tuple(include)
        settings.update(kwargs)
        if settings:
            self.conf.update(settings)
        if config_source is not None:
            self.config_from_object(config_source)
        from .builtins import register_builtins
        register_builtins(self)
        from .bridge import on_app_created
        on_app_created(self)
        _state.register_app(self)
        for callback in list(_state._on_app_finalizers):
            callback(self)
        if set_as_current:
            self.set_current()

    def __repr__(self) -> str:
        return f"<Celery {self.main or '__main__'} at {id(self):#x}>"

    # --- current app --------------------------------------------------------------

    def set_current(self) -> None:
        _state.set_current_app(self)

    def set_default(self) -> None:
        _state.set_current_app(self)

    # --- tasks (made by mrqc.app_tasks.TaskFactory) ---------------------------------

    def _register(self, task: Task) -> None:
        self._annotate(task)
        self.tasks.register(task)

    # --- configuration (sources: mrqc.app_config.ConfigSources) -------------------

    def config_from_cmdline(self, argv: Any, namespace: str = "celery") -> None:
        raise UnsupportedOption("config_from_cmdline is not supported by mrqc; use app.conf.update()")

    def add_defaults(self, fun: Any) -> None:
        self.conf.update(fun() if callable(fun) else fun)

    def _on_conf_change(self, name: str, value: Any) -> None:
        if name == "task_annotations":
            for task in list(self.tasks.values()):
                self._annotate(task)
        if name == "task_routes":
            self._routers = None
        from .bridge import settings_changed
        settings_changed(self, name)

    def _ensure_configured(self) -> None:
        """Send ``on_configure`` and ``on_after_configure`` once: at the first read of ``conf``
        (as Celery does), or by ``finalize()``/the first publish."""
        if not self.configured:
            self.configured = True
            self.on_configure.send(sender=self)
            self.on_after_configure.send(sender=self, source=self.conf)

    def finalize(self, auto: bool = False) -> None:
        """Send ``on_after_configure`` once, import the task modules, send ``on_after_finalize`` once."""
        self._ensure_configured()
        if not self.finalized:
            self.finalized = True
            self._import_task_modules()
            self.on_after_finalize.send(sender=self)

    def _import_task_modules(self) -> list[Any]:
        modules = []
        for name in list(self.conf.imports or ()) + list(self.conf.include or ()):
            modules.append(importlib.import_module(name))
            if name not in self._imported_modules:
                self._imported_modules.append(name)
        for packages, related in self._autodiscover:
            self._discover(packages, related)
        return modules

    # --- runtime, routing -----------------------------------------------------------

    @property
    def runtime(self) -> "Runtime":
        """The mrqcore runtime this app publishes and reads results through (see module docstring)."""
        from .bridge import app_runtime
        return app_runtime(self)

    @property
    def amqp(self) -> Any:
        """Celery's ``app.amqp``: ``queues`` only (mrqc does not publish through kombu; see ``mrqc.app_amqp``)."""
        from .app_amqp import AMQP
        return AMQP(self)

    @property
    def backend(self) -> Any:
        """Celery's ``app.backend``: this app's job records (``mrqc.backends.redis.RedisBackend``)."""
        from .backends.redis import RedisBackend
        if getattr(self, "_mrqc_backend", None) is None:
            self._mrqc_backend = RedisBackend(self)
        return self._mrqc_backend

    def mrqc_bind_runtime(self, runtime: "Runtime") -> None:
        """Use ``runtime`` from now on, whatever the settings say (``mrqc -A`` calls this)."""
        from .bridge import bind
        bind(self, runtime)

    def default_queue(self) -> str:
        return self.conf.task_default_queue or "celery"

    def queue_for(self, name: str, args: Any = None, kwargs: Any = None, options: dict[str, Any] | None = None,
                  task: Task | None = None) -> str:
        """The queue a call goes to (see ``mrqc.routing``)."""
        options = options or {}
        queue = options.get("queue")
        if queue is not None and not isinstance(queue, str):
            queue = getattr(queue, "name", None)
        if queue:
            return queue
        if options.get("routing_key"):
            return options["routing_key"]
        if self._routers is None:
            self._routers = routing.prepare(self.conf.task_routes)
        found = routing.route(self._routers, name, args, kwargs, options, task)
        if found:
            return found
        if task is None:
            task = self.tasks.get(name)
        if task is not None and task.queue:
            return task.queue if isinstance(task.queue, str) else task.queue.name
        return self.default_queue()

    def _worker_queues(self) -> list[str]:
        queues = [self.default_queue()]
        for task in self.tasks.values():
            queues.append(self.queue_for(task.name, task=task))
        queues += routing.static_queues(self.conf.task_routes)
        for queue in self.conf.task_queues or ():
            queues.append(queue if isinstance(queue, str) else getattr(queue, "name", None))
        out: list[str] = []
        for queue in queues:
            if queue and queue not in out:
                out.append(queue)
        return out

    def mrqc_worker_options(self) -> dict[str, Any]:
        """Settings ``mrqc worker -A`` takes from this app (the hook mrqcore/cli.py calls; see ``mrqc.bridge``)."""
        from .bridge import worker_options
        return worker_options(self)

    # --- calling, results -----------------------------------------------------------

    def send_task(self, name: str, args: Any = None, kwargs: Any = None, countdown: float | None = None,
                  eta: Any = None, task_id: str | None = None, producer: Any = None, connection: Any = None,
                  router: Any = None, result_cls: Any = None, expires: Any = None, publisher: Any = None,
                  link: Any = None, link_error: Any = None, add_to_parent: bool = True,
                  group_id: str | None = None, group_index: int | None = None, retries: int = 0,
                  chord: Any = None, reply_to: str | None = None, time_limit: float | None = None,
                  soft_time_limit: float | None = None, root_id: str | None = None,
                  parent_id: str | None = None, route_name: str | None = None, shadow: str | None = None,
                  chain: Any = None, task_type: Any = None, **options: Any) -> "AsyncResult":
        """Send a task by name (Celery's ``send_task``; not run eagerly, as in Celery).

        A name this process knows as a native mrqcore ``Task`` (registered or
        importable, not a Celery task) is queued the mrqcore way: ``kwargs``
        become its params dict (positional ``args`` are refused, as MRQ tasks
        take one dict).
        """
        from .calling import send
        for key, value in (("producer", producer), ("connection", connection), ("router", router),
                           ("publisher", publisher), ("chord", chord), ("chain", chain)):
            if value is not None:
                raise UnsupportedOption(f"send_task({key}=...) is not supported by mrqc")
        return send(self, name, args, kwargs, countdown=countdown, eta=eta, task_id=task_id, expires=expires,
                    link=link, link_error=link_error, add_to_parent=add_to_parent, group_id=group_id,
                    group_index=group_index, reply_to=reply_to, time_limit=time_limit,
                    soft_time_limit=soft_time_limit, root_id=root_id, parent_id=parent_id, shadow=shadow,
                    result_cls=result_cls, by_name=True, **options)

    @property
    def AsyncResult(self) -> type["AsyncResult"]:  # noqa: N802 - Celery's name
        """``AsyncResult`` bound to this app (a subclass, as in Celery: ``isinstance`` works)."""
        if self._result_cls is None:
            from .result import AsyncResult
            self._result_cls = type("AsyncResult", (AsyncResult,), {"_default_app": self})
        return self._result_cls

    @property
    def GroupResult(self) -> type["GroupResult"]:  # noqa: N802
        """``GroupResult`` bound to this app (``app.GroupResult.restore(group_id)`` works)."""
        if self._group_result_cls is None:
            from .result import GroupResult
            self._group_result_cls = type("GroupResult", (GroupResult,), {"_default_app": self})
        return self._group_result_cls

    def signature(self, *args: Any, **kwargs: Any) -> Any:
        from .canvas import signature
        kwargs["app"] = self
        return signature(*args, **kwargs)

    def now(self) -> Any:
        import datetime
        return datetime.datetime.now(datetime.timezone.utc)

    # --- periodic tasks (read by mrqc.beat) ----------------------------------------

    def add_periodic_task(self, schedule: Any, sig: Any, args: tuple[Any, ...] = (), kwargs: Any = (),
                          name: str | None = None, **opts: Any) -> str:
        """Add a beat entry: stored in ``conf.beat_schedule[key]`` and ``_periodic_tasks[key]``."""
        from .canvas_signature import Signature
        if not isinstance(sig, Signature):
            raise TypeError(f"add_periodic_task: expected a signature (task.s(...)), got {sig!r}")
        if args or kwargs:
            sig = sig.clone(args, dict(kwargs or {}))
        key = name or repr(sig)
        entry = {"schedule": schedule, "task": sig.task, "args": tuple(sig.args), "kwargs": dict(sig.kwargs),
                 "options": dict(sig.options, **opts)}
        self._periodic_tasks[key] = entry
        schedule_conf = self.conf.beat_schedule
        if schedule_conf is None:
            schedule_conf = self.conf.beat_schedule = {}
        schedule_conf[key] = entry  # in place, as Celery does: a later read of beat_schedule sees it
        return key

    def close(self) -> None:
        pass

    def __enter__(self) -> "Celery":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


from .shared import shared_task  # noqa: E402,F401 - Celery has it here too (celery.app)
