"""``Task``: Celery's task class, run by mrqcore's worker.

Declaring (see ``Celery.task``)::

    @app.task(bind=True, max_retries=5, autoretry_for=(IOError,), retry_backoff=True)
    def fetch(self, url): ...

    class Resize(app.Task):            # class-based
        name = "proj.resize"
        def run(self, path, width): ...
    app.register_task(Resize())

Each task is found by mrqcore under its name (a task finder, see
``mrqc.bridge``), as a generated ``mrqcore.task.Task`` subclass whose
params are ``{"args": [...], "kwargs": {...}}``; so ``queue_job(name,
{"args": [1, 2]})`` runs it too.

Options Celery knows but mrqc does not support (or an unknown option) raise
``ImproperlyConfigured`` at declaration, naming the option.
"""
from __future__ import annotations

import contextvars
import inspect
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import _state
from .exceptions import ImproperlyConfigured, MaxRetriesExceededError, Retry, UnsupportedOption
from .utils import check_options, parse_rate_limit, suggest

if TYPE_CHECKING:
    from .app import Celery
    from .result import AsyncResult, EagerResult

#: options ``@app.task(...)`` accepts (besides bind/base/shared/name); each is a Task attribute
TASK_OPTIONS = frozenset({
    "name", "queue", "max_retries", "default_retry_delay", "autoretry_for", "dont_autoretry_for",
    "retry_kwargs", "retry_backoff", "retry_backoff_max", "retry_jitter", "rate_limit", "time_limit",
    "soft_time_limit", "ignore_result", "acks_late", "expires", "priority", "serializer", "throws",
    "typing", "track_started", "trail", "send_events", "store_errors_even_if_ignored",
    "reject_on_worker_lost", "acks_on_failure_or_timeout", "resultrepr_maxsize", "autoregister",
    "abstract", "routing_key", "exchange", "compression", "Request", "Strategy",
    "lazy", "pydantic", "pydantic_strict", "pydantic_context", "pydantic_dump_kwargs",
})

#: options with a value mrqc cannot honour -> (acceptable values, reason)
_RESTRICTED: dict[str, tuple[tuple[Any, ...], str]] = {
    "serializer": ((None, "json"), "only JSON is supported"),
    "compression": ((None,), "compression is not supported"),
    "exchange": ((None, ""), "there are no exchanges; use queue="),
    "Request": ((None,), "custom Request classes are not supported"),
    "Strategy": ((None,), "custom strategies are not supported"),
}


def restricted_task_options() -> dict[str, tuple[tuple[Any, ...], str]]:
    """Options mrqc accepts only with some values: option -> (accepted values, why others are refused).

    Public view of the table ``check_task_options`` uses (``mrqc migrate`` reads it, so the tool and
    the runtime never disagree).
    """
    return dict(_RESTRICTED)


def check_task_options(options: dict[str, Any], where: str) -> None:
    """Raise ImproperlyConfigured for an unknown option or an unsupported value."""
    check_options(options, TASK_OPTIONS, _RESTRICTED, where, "task option", ImproperlyConfigured)
    if options.get("rate_limit"):
        parse_rate_limit(options["rate_limit"], f"{where}: rate_limit")
    for key in ("autoretry_for", "dont_autoretry_for", "throws"):
        value = options.get(key)
        if value is not None and not all(isinstance(c, type) and issubclass(c, BaseException)
                                         for c in (value if isinstance(value, (tuple, list)) else [value])):
            raise ImproperlyConfigured(f"{where}: {key} must be a tuple of exception classes, got {value!r}")


class Context:
    """``task.request``: what the running task knows about its own execution."""

    id: str | None = None
    args: Any = None
    kwargs: Any = None
    retries: int = 0
    is_eager: bool = False
    called_directly: bool = True
    delivery_info: dict[str, Any] | None = None
    hostname: str | None = None
    root_id: str | None = None
    parent_id: str | None = None
    group: str | None = None
    group_index: int | None = None
    chord: Any = None
    chain: Any = None
    callbacks: Any = None
    errbacks: Any = None
    eta: Any = None
    expires: Any = None
    headers: dict[str, Any] | None = None
    timelimit: tuple[Any, Any] = (None, None)
    reply_to: str | None = None
    correlation_id: str | None = None
    origin: str | None = None
    task: str | None = None
    ignore_result: bool = False
    shadow: str | None = None
    taskset: str | None = None
    utc: bool = True
    properties: dict[str, Any] | None = None
    stamps: dict[str, Any] | None = None
    stamped_headers: list[str] | None = None
    #: the call's limits, else the task's (Celery 5.6+: ``request.time_limit``/``soft_time_limit``)
    time_limit: float | None = None
    soft_time_limit: float | None = None
    #: how many ``replace()`` calls led to this task (0 for a task that replaces nothing)
    replaced_task_nesting: int = 0
    argsrepr: str | None = None
    kwargsrepr: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.children: list[Any] = []
        self.update(*args, **kwargs)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__.update(*args, **kwargs)

    def clear(self) -> None:
        self.__dict__.clear()
        self.children = []

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def __repr__(self) -> str:
        return f"<Context: {vars(self)!r}>"

    def as_execution_options(self) -> dict[str, Any]:
        return {"task_id": self.id, "root_id": self.root_id, "parent_id": self.parent_id,
                "group_id": self.group, "group_index": self.group_index, "shadow": self.shadow,
                "chord": self.chord, "chain": self.chain, "link": self.callbacks,
                "link_error": self.errbacks, "expires": self.expires, "soft_time_limit": self.timelimit[1],
                "time_limit": self.timelimit[0], "headers": self.headers, "retries": self.retries,
                "reply_to": self.reply_to, "ignore_result": self.ignore_result}


class RequestStack:
    """The requests of one task, per greenlet (a ContextVar of tuples)."""

    def __init__(self, name: str) -> None:
        self._var: contextvars.ContextVar[tuple[Context, ...]] = contextvars.ContextVar(f"mrqc_req_{name}",
                                                                                        default=())

    @property
    def top(self) -> Context | None:
        stack = self._var.get()
        return stack[-1] if stack else None

    def push(self, request: Context) -> contextvars.Token:
        return self._var.set(self._var.get() + (request,))

    def pop(self, token: contextvars.Token | None = None) -> None:
        if token is not None:
            self._var.reset(token)
        else:
            self._var.set(self._var.get()[:-1])

    def __len__(self) -> int:
        return len(self._var.get())


class Task:
    """A Celery task. Instances are singletons per app: ``app.tasks[name]``."""

    #: the app this task belongs to (set when the task is bound)
    app: "Celery" = None  # type: ignore[assignment]
    name: str | None = None
    typing: bool = True
    max_retries: int | None = 3
    default_retry_delay: float = 3 * 60
    rate_limit: Any = None
    ignore_result: bool | None = None
    trail: bool = True
    send_events: bool = True
    store_errors_even_if_ignored: bool | None = None
    serializer: str | None = None
    time_limit: float | None = None
    soft_time_limit: float | None = None
    autoregister: bool = True
    track_started: bool | None = None
    acks_late: bool | None = None
    acks_on_failure_or_timeout: bool | None = None
    reject_on_worker_lost: bool | None = None
    throws: tuple[type[BaseException], ...] = ()
    expires: Any = None
    priority: int | None = None
    queue: str | None = None
    routing_key: str | None = None
    exchange: str | None = None
    compression: str | None = None
    resultrepr_maxsize: int = 1024
    autoretry_for: tuple[type[BaseException], ...] = ()
    dont_autoretry_for: tuple[type[BaseException], ...] = ()
    retry_kwargs: dict[str, Any] = {}
    retry_backoff: Any = False
    retry_backoff_max: int = 600
    retry_jitter: bool = True
    abstract: bool | None = None
    lazy: bool = True
    Request: Any = None
    Strategy: Any = None
    pydantic: bool = False
    pydantic_strict: bool = False
    pydantic_context: Any = None
    pydantic_dump_kwargs: Any = None

    MaxRetriesExceededError = MaxRetriesExceededError
    OperationalError = ConnectionError

    #: set when the function behind the task takes ``self`` (bind=True)
    _mrqc_bound: bool = False
    request_stack: RequestStack

    @classmethod
    def bind(cls, app: "Celery") -> "Celery":
        cls.app = app
        return app

    def __init__(self) -> None:
        name = self.name or f"{type(self).__module__}.{type(self).__name__}"
        self.request_stack = RequestStack(name)

    def __repr__(self) -> str:
        return f"<@task: {self.name} of {self.app.main if self.app else '?'}>"

    # --- running ------------------------------------------------------------------

    def run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Tasks must define the run method.")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the task's function here and now (no job, ``request.called_directly`` is True)."""
        top = self.request_stack.top
        if top is not None and getattr(top, "_mrqc_tracing", False):
            return self.run(*args, **kwargs)  # a custom __call__ calling super() inside the tracer
        token = _state.push_task(self)
        req = self.request_stack.push(Context(args=args, kwargs=kwargs))
        try:
            return self.run(*args, **kwargs)
        finally:
            self.request_stack.pop(req)
            _state.pop_task(token)

    @property
    def request(self) -> Context:
        top = self.request_stack.top
        return top if top is not None else Context()

    @property
    def backend(self) -> Any:
        """Celery's ``task.backend``: the app's (``app.backend``, its job records)."""
        return self._get_app().backend

    def push_request(self, *args: Any, **kwargs: Any) -> None:
        self.request_stack.push(Context(*args, **kwargs))

    def pop_request(self) -> None:
        self.request_stack.pop()

    # --- calling ------------------------------------------------------------------

    def delay(self, *args: Any, **kwargs: Any) -> "AsyncResult":
        """``apply_async(args, kwargs)``."""
        return self.apply_async(args, kwargs)

    def apply_async(self, args: Iterable[Any] | None = None, kwargs: dict[str, Any] | None = None,
                    task_id: str | None = None, producer: Any = None, link: Any = None,
                    link_error: Any = None, shadow: str | None = None, **options: Any) -> "AsyncResult":
        """Queue the task (or run it here when ``task_always_eager``). See ``mrqc.calling``."""
        if self.typing and not options.get("park"):  # a parked step gets its first argument later
            self._check_arguments(args or (), kwargs or {})
        app = self._get_app()
        if app.conf.task_always_eager:
            return self.apply(args, kwargs, task_id=task_id, link=link, link_error=link_error, **options)
        from .calling import send
        return send(app, self.name, args, kwargs, task_id=task_id, link=link, link_error=link_error,
                    shadow=shadow, task=self, **options)

    def apply(self, args: Iterable[Any] | None = None, kwargs: dict[str, Any] | None = None,
              link: Any = None, link_error: Any = None, task_id: str | None = None, retries: int | None = None,
              throw: bool | None = None, logfile: Any = None, loglevel: Any = None,
              headers: dict[str, Any] | None = None, **options: Any) -> "EagerResult":
        """Run the task here, blocking, and return an ``EagerResult`` (Celery's ``apply``)."""
        from .eager import apply_eagerly
        return apply_eagerly(self, args, kwargs, link=link, link_error=link_error, task_id=task_id,
                             retries=retries, throw=throw, headers=headers, **options)

    def retry(self, args: Iterable[Any] | None = None, kwargs: dict[str, Any] | None = None,
              exc: BaseException | None = None, throw: bool = True, eta: Any = None,
              countdown: float | None = None, max_retries: int | None = None, **options: Any) -> Retry:
        """Ask for this task to run again later; raises ``Retry`` (Celery's semantics).

        Past ``max_retries`` (the task's, or the argument for this call) it
        raises ``exc`` if given, else ``MaxRetriesExceededError``. Called
        outside a worker/eager run (a direct call), it raises ``exc`` or Retry.
        ``args``/``kwargs`` replace the task's arguments for the next run.
        """
        request = self.request
        retries = request.retries + 1
        max_retries = self.max_retries if max_retries is None else max_retries
        if request.called_directly:
            if exc is not None:
                raise exc
            raise Retry("Task can be retried", None)
        if not eta and countdown is None:
            countdown = self._default_retry_delay()
        new_args, new_kwargs = self._retry_arguments(request, args, kwargs)
        if max_retries is not None and retries > max_retries:
            if exc is not None:
                raise exc
            raise self.MaxRetriesExceededError(
                f"Can't retry {self.name}[{request.id}] args:{new_args} kwargs:{new_kwargs}",
                task_args=new_args, task_kwargs=new_kwargs)
        unknown = set(options) - _RETRY_OPTIONS
        if unknown:
            name = sorted(unknown)[0]
            raise ImproperlyConfigured(f"{self.name}.retry(): unknown or unsupported option {name!r}"
                                       f"{suggest(name, _RETRY_OPTIONS)}")
        sig = self.signature(new_args, new_kwargs, **options)
        ret = Retry(exc=exc, when=eta or countdown, is_eager=request.is_eager, sig=sig)
        ret.countdown = countdown  # type: ignore[attr-defined]
        ret.eta = eta  # type: ignore[attr-defined]
        ret.args_changed = args is not None or kwargs is not None  # type: ignore[attr-defined]
        if not throw:
            request._mrqc_retry = ret  # the worker retries once the function returns
            return ret
        raise ret

    def _retry_arguments(self, request: Context, args: Iterable[Any] | None,
                         kwargs: dict[str, Any] | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The next run's arguments: the given ones, else the current ones, as Celery merges them.

        Given only ``args``, the current kwargs are kept except those the new positional ones
        fill; given only ``kwargs``, a current positional argument named in them is replaced.
        """
        old_args, old_kwargs = tuple(request.args or ()), dict(request.kwargs or {})
        new_args = old_args if args is None else tuple(args)
        new_kwargs = old_kwargs if kwargs is None else dict(kwargs)
        if (args is None) == (kwargs is None) or not (old_kwargs if kwargs is None else old_args):
            return new_args, new_kwargs
        try:
            signature = inspect.signature(self.run)
        except (TypeError, ValueError):
            return new_args, new_kwargs
        if args is not None:  # positional now: drop the kwargs they fill
            positional = [p for p in signature.parameters.values()
                          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            for param in positional[:len(new_args)]:
                if param.kind == param.POSITIONAL_OR_KEYWORD:
                    new_kwargs.pop(param.name, None)
            return new_args, new_kwargs
        try:  # keywords now: one naming a current positional argument replaces it in place
            bound = signature.bind_partial(*old_args)
        except TypeError:
            return new_args, new_kwargs
        for name in list(new_kwargs):
            if name in bound.arguments and signature.parameters[name].kind == \
                    inspect.Parameter.POSITIONAL_OR_KEYWORD:
                bound.arguments[name] = new_kwargs.pop(name)
        return tuple(bound.args), {**bound.kwargs, **new_kwargs}

    def _check_arguments(self, args: Iterable[Any], kwargs: dict[str, Any]) -> None:
        """Celery's ``typing``: a call whose arguments do not fit the function fails at the caller."""
        try:
            sig = inspect.signature(self.run)
        except (TypeError, ValueError):
            return
        try:
            sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}: {exc}") from None

    # --- signatures ---------------------------------------------------------------

    def signature(self, args: Any = None, *starargs: Any, **starkwargs: Any) -> Any:
        from .canvas import signature
        starkwargs.setdefault("app", self._get_app())
        return signature(self, args, *starargs, **starkwargs)

    subtask = signature

    def s(self, *args: Any, **kwargs: Any) -> Any:
        return self.signature(args, kwargs)

    def si(self, *args: Any, **kwargs: Any) -> Any:
        return self.signature(args, kwargs, immutable=True)

    def chunks(self, it: Iterable[Any], n: int) -> Any:
        from .canvas import chunks
        return chunks(self.s(), it, n, app=self._get_app())

    def map(self, it: Iterable[Any]) -> Any:
        from .canvas import xmap
        return xmap(self.s(), it, app=self._get_app())

    def starmap(self, it: Iterable[Any]) -> Any:
        from .canvas import xstarmap
        return xstarmap(self.s(), it, app=self._get_app())

    # --- results ------------------------------------------------------------------

    def AsyncResult(self, task_id: str, **kwargs: Any) -> "AsyncResult":  # noqa: N802 - Celery's name
        from .result import AsyncResult
        return AsyncResult(task_id, app=self._get_app(), task_name=self.name, **kwargs)

    def update_state(self, task_id: str | None = None, state: str | None = None, meta: Any = None,
                     **kwargs: Any) -> None:
        """Record a custom state (and JSON ``meta``) on the job; ``AsyncResult.state``/``info`` show it."""
        from .result import store_custom_state
        task_id = task_id or self.request.id
        if task_id is None or self.request.is_eager and task_id == self.request.id:
            return  # Celery stores nothing for eager/direct calls without a backend
        store_custom_state(self._get_app(), task_id, state, meta)

    def send_event(self, type_: str, retry: bool = True, retry_policy: Any = None, **fields: Any) -> None:
        """No event bus in mrqc: accepted, does nothing (documented)."""

    # --- canvas from inside a task (mrqc.canvas_replace) ---------------------------------

    def replace(self, sig: Any) -> Any:
        """Replace this call by ``sig``: its id gets ``sig``'s result (see ``mrqc.canvas_replace``)."""
        from .canvas_replace import replace
        return replace(self, sig)

    def add_to_chord(self, sig: Any, lazy: bool = False) -> Any:
        """Add ``sig`` to the chord this call is a header part of (see ``mrqc.canvas_replace``)."""
        from .canvas_replace import add_to_chord
        return add_to_chord(self, sig, lazy)

    # --- hooks (override) ----------------------------------------------------------

    def before_start(self, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Called before the task body runs."""

    def on_success(self, retval: Any, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Called after the task returned."""

    def on_failure(self, exc: BaseException, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                   einfo: Any) -> None:
        """Called when the task failed (finally: not for a retry)."""

    def on_retry(self, exc: BaseException, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                 einfo: Any) -> None:
        """Called when the task asked to be retried."""

    def after_return(self, status: str, retval: Any, task_id: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any], einfo: Any) -> None:
        """Called after every run, whatever the outcome (``status`` is the Celery state)."""

    # --- helpers ------------------------------------------------------------------

    def _get_app(self) -> "Celery":
        return self.app if self.app is not None else _state.get_current_app()

    def _effective_ignore_result(self) -> bool:
        if self.ignore_result is not None:
            return bool(self.ignore_result)
        return bool(self._get_app().conf.task_ignore_result)

    def _effective_acks_late(self) -> bool:
        for value in (self.acks_late, self.reject_on_worker_lost):
            if value is not None:
                return bool(value)
        conf = self._get_app().conf
        return bool(conf.task_acks_late or conf.task_reject_on_worker_lost)

    def _default_retry_delay(self) -> float:
        """The task's ``default_retry_delay``; if the task does not set one, the app's
        ``task_default_retry_delay`` (an mrqc setting), else Celery's 180 s."""
        if type(self).default_retry_delay == Task.default_retry_delay:
            configured = self._get_app().conf.seconds("task_default_retry_delay")
            if configured is not None:
                return configured
        return self.default_retry_delay

    def _rate(self) -> tuple[int, int] | None:
        conf = self._get_app().conf
        if conf.worker_disable_rate_limits:
            return None
        value = self.rate_limit if self.rate_limit is not None else conf.task_default_rate_limit
        return parse_rate_limit(value, f"{self.name}: rate_limit")

    def _time_limits(self) -> tuple[float | None, float | None]:
        conf = self._get_app().conf
        hard = self.time_limit if self.time_limit is not None else conf.seconds("task_time_limit")
        soft = self.soft_time_limit if self.soft_time_limit is not None else conf.seconds("task_soft_time_limit")
        return hard, soft


_RETRY_OPTIONS = frozenset({"queue", "routing_key", "time_limit", "soft_time_limit", "expires", "headers",
                            "priority", "retry", "retry_policy", "serializer"})


def now() -> float:
    return time.time()


def task_from_function(app: "Celery", fun: Callable[..., Any], name: str | None = None,
                       base: type[Task] | None = None, bind: bool = False, **options: Any) -> Task:
    """Build the Task subclass for ``fun`` (Celery's ``_task_from_fun``) and return its instance."""
    base = base or app.Task
    if not (isinstance(base, type) and issubclass(base, Task)):
        raise ImproperlyConfigured(f"task {fun!r}: base={base!r} is not a subclass of mrqc.Task")
    check_task_options(options, f"task {name or fun.__name__!r}")
    name = name or app.gen_task_name(fun.__name__, fun.__module__)
    if options.get("pydantic"):
        from .task_pydantic import pydantic_wrapper
        fun = pydantic_wrapper(fun, name, strict=bool(options.get("pydantic_strict")),
                               context=options.get("pydantic_context"),
                               dump_kwargs=options.get("pydantic_dump_kwargs"))
    run = fun if bind else staticmethod(fun)
    attrs = {"app": app, "name": name, "run": run, "_mrqc_fun": staticmethod(fun), "_mrqc_bound": bind,
             "__doc__": fun.__doc__, "__module__": fun.__module__, "__qualname__": fun.__qualname__,
             "__wrapped__": run, **options}
    cls = type(fun.__name__, (base,), attrs)
    task = cls()
    task.__name__ = fun.__name__  # type: ignore[attr-defined]
    return task
