"""Worker pools: how one ``mrqcore.worker.Worker`` runs its jobs and its services.

There is one worker loop (``Worker``); what differs between a production
worker and a worker inside a test process is only *how* things run, and that
is a pool, chosen with ``Worker(runtime, pool=...)``:

| pool | jobs at once | jobs run in | services run in | needs |
|---|---|---|---|---|
| ``"gevent"`` (default) | ``greenlets`` | runner greenlets (``RunnerPool``) | greenlets | a monkey-patched process |
| ``"solo"`` | 1 | the thread that called ``Worker.run()`` | a daemon thread each | an unpatched process |

The solo pool is for running a worker in a background thread of a process
that must stay unpatched, such as a pytest process (``mrqc.contrib.testing``
does). Like Celery's solo pool it runs one job at a time, so a task that
waits for another task's result deadlocks; and time limits are not enforced
(a ``gevent.Timeout`` only fires when the job yields to gevent).

How a running job is stopped (``Worker.kill_job``, ``Worker.interrupt``):
with gevent, the exception is thrown into the job's greenlet; with solo, it is
raised asynchronously in the job's thread (CPython's
``PyThreadState_SetAsyncExc``), so it lands at the job's next Python
instruction: a job blocked in one long C call (``time.sleep(60)``) sees it
when that call returns.

This module is not the worker loop (``mrqcore.worker``), nor the job
execution rules (``mrqcore.execution``).
"""
from __future__ import annotations

import abc
import contextvars
import ctypes
import difflib
import logging
import threading
from typing import Any, Callable, ClassVar, Protocol, Sequence

import gevent
import gevent.event
import gevent.lock

from .exceptions import ConfigError
from .runners import RunnerPool

logger = logging.getLogger("mrqc.worker")

__all__ = ["WorkerPool", "GeventPool", "SoloPool", "Killable", "Service", "POOLS", "make_pool", "raise_in_thread",
           "release_thread_hub"]


class Killable(Protocol):
    """Where one job runs (a greenlet, or a ``SoloPool`` thread): ``kill`` stops the job in it."""

    def kill(self, exception: Any = ..., block: bool = ...) -> Any: ...


#: a running worker service, as ``start_service`` returned it (a greenlet, or a ``SoloPool`` thread)
Service = Any


class WorkerPool(abc.ABC):
    """The execution strategy of a Worker: runs its jobs, its services, and gives it sync primitives.

    The job methods (``free_count``, ``wait_available``, ``spawn``, ``join``,
    ``close``, ``current``) are on the worker's hot path: keep them cheap.
    """

    #: the name ``Worker(pool=...)`` accepts
    name: ClassVar[str]
    #: True: the worker owns the process: it installs its runtime and itself as
    #: current, and handles SIGINT/SIGTERM. False: it is a guest (a thread of a test process).
    owns_process: ClassVar[bool]
    #: True: ``spawn`` runs the job before it returns; the worker records each finish
    #: right after the job instead of in a writer greenlet.
    runs_inline: ClassVar[bool]

    size: int

    # --- jobs -------------------------------------------------------------------------

    @abc.abstractmethod
    def free_count(self) -> int:
        """How many more jobs may start now."""

    @abc.abstractmethod
    def wait_available(self) -> None:
        """Block until at least one job may start."""

    @abc.abstractmethod
    def spawn(self, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` (one job) in a fresh ``contextvars`` context. Call only when ``free_count()`` > 0."""

    @abc.abstractmethod
    def join(self, timeout: float | None = None) -> bool:
        """Wait until no job runs; False if ``timeout`` passed first."""

    @abc.abstractmethod
    def close(self, timeout: float = 5.0) -> None:
        """No more jobs will be spawned: release the runners."""

    @abc.abstractmethod
    def current(self) -> Killable:
        """Called from inside a job: where it runs, for ``kill(exc, block=False)`` later."""

    # --- the worker's own machinery ----------------------------------------------------

    @abc.abstractmethod
    def event(self) -> Any:
        """A new Event (``set``, ``clear``, ``is_set``, ``wait(timeout)``) that works with this pool."""

    @abc.abstractmethod
    def lock(self) -> Any:
        """A new non-reentrant lock (a context manager) that works with this pool."""

    @abc.abstractmethod
    def start_service(self, service: Callable[[], None]) -> Service:
        """Run ``service()`` beside the job loop until ``stop_services``."""

    @abc.abstractmethod
    def stop_services(self, services: Sequence[Service], timeout: float = 5.0) -> None:
        """Stop the services: each gets ``gevent.GreenletExit`` wherever it is."""

    def idle(self) -> None:
        """Called after starting a batch of jobs: let them start before the next dequeue."""

    def resize(self, size: int) -> None:
        """Run up to ``size`` jobs at once from now on (remote ``pool_grow``/``pool_shrink``).

        A pool that cannot change its size raises ConfigError (the default).
        """
        raise ConfigError("pool", f"the {self.name} pool runs {self.size} job(s) at a time and cannot be "
                                  "resized; use the gevent pool")


class GeventPool(RunnerPool, WorkerPool):
    """``size`` jobs at once on long-lived runner greenlets; services are greenlets. ``mrqc worker``'s pool."""

    name = "gevent"
    owns_process = True
    runs_inline = False

    # The hot path stays what it was before pools existed: these are gevent's own callables.
    current = staticmethod(gevent.getcurrent)  # type: ignore[assignment]
    idle = staticmethod(gevent.idle)  # type: ignore[assignment]
    event = staticmethod(gevent.event.Event)  # type: ignore[assignment]
    lock = staticmethod(gevent.lock.Semaphore)  # type: ignore[assignment]

    def start_service(self, service: Callable[[], None]) -> gevent.Greenlet:
        return gevent.spawn(service)

    def stop_services(self, services: Sequence[Service], timeout: float = 5.0) -> None:
        for greenlet in services:
            greenlet.kill(block=True, timeout=timeout)  # type: ignore[attr-defined]


class SoloPool(WorkerPool):
    """One job at a time, run inline in the worker's thread; each service in its own daemon thread.

    For a worker in a thread of a process that is not monkey-patched (tests).
    """

    name = "solo"
    owns_process = False
    runs_inline = True

    def __init__(self, size: int = 1) -> None:
        from gevent import monkey
        if monkey.is_module_patched("threading"):
            # Its threads would be greenlets, and a kill could not reach a running job.
            raise ConfigError("pool", "the solo pool needs a process that gevent has not monkey-patched; "
                                      "this one is patched: use the gevent pool")
        self.size = 1
        self._busy = 0
        self._unit: _JobThread | None = None

    def free_count(self) -> int:
        return 1 - self._busy

    def wait_available(self) -> None:
        """Nothing to wait for: a job has ended when ``spawn`` returns."""

    def spawn(self, func: Callable[..., Any], *args: Any) -> None:
        if self._busy:
            raise RuntimeError("SoloPool.spawn called while a job runs")
        unit = self._unit
        if unit is None or unit.ident != threading.get_ident():
            unit = self._unit = _JobThread()
        self._busy = 1
        try:
            try:
                unit.arm()
                contextvars.Context().run(func, *args)
            finally:
                unit.disarm()
        except BaseException as exc:  # noqa: BLE001 - a kill that landed just as its job ended
            logger.warning("a kill (%r) reached the solo worker after its job ended; ignored", exc)
        finally:
            self._busy = 0

    def join(self, timeout: float | None = None) -> bool:
        return not self._busy

    def close(self, timeout: float = 5.0) -> None:
        """Nothing to release: jobs run in the caller's thread."""

    def current(self) -> "_JobThread":
        assert self._unit is not None, "SoloPool.current() called outside a job"
        return self._unit

    def event(self) -> threading.Event:
        return threading.Event()

    def lock(self) -> Any:
        return threading.Lock()

    def start_service(self, service: Callable[[], None]) -> "_ServiceThread":
        thread = _ServiceThread(service)
        thread.start()
        return thread

    def stop_services(self, services: Sequence[Service], timeout: float = 5.0) -> None:
        """Raise GreenletExit in each service thread, and return at once.

        A service sees the exception at its next Python instruction, so it does
        no more work; one blocked in a long C call (``time.sleep`` in recovery,
        a pub/sub read) sees it when that call returns. Waiting for those would
        make every test worker's stop take seconds, so they are daemon threads
        and are not joined.
        """
        for thread in services:
            thread.kill()


class _JobThread:
    """The thread a SoloPool runs jobs in; ``kill`` raises in it only while a job runs."""

    def __init__(self) -> None:
        self.ident = threading.get_ident()
        self._lock = threading.Lock()
        self._armed = False

    def arm(self) -> None:
        with self._lock:
            self._armed = True

    def disarm(self) -> None:
        with self._lock:
            self._armed = False

    def kill(self, exception: BaseException | type[BaseException] = gevent.GreenletExit,
             block: bool = False) -> bool:
        """Raise ``exception`` in the job's thread if a job runs there; True if it was sent."""
        with self._lock:
            if not self._armed:
                return False
            return raise_in_thread(self.ident, exception)


class _ServiceThread(threading.Thread):
    """A daemon thread running one worker service; ``kill`` raises GreenletExit in it."""

    def __init__(self, service: Callable[[], None]) -> None:
        super().__init__(name=f"mrqc-service-{getattr(service, '__qualname__', service)}", daemon=True)
        self._service = service

    def run(self) -> None:
        try:
            self._service()
        except gevent.GreenletExit:
            pass
        except BaseException:  # noqa: BLE001 - a service must not die silently
            logger.exception("worker service %s crashed", self.name)
        finally:
            release_thread_hub()

    def kill(self) -> None:
        if self.ident is not None and self.is_alive():
            raise_in_thread(self.ident, gevent.GreenletExit)


def raise_in_thread(ident: int, exception: BaseException | type[BaseException]) -> bool:
    """Raise ``exception`` asynchronously in thread ``ident`` (at its next Python instruction).

    CPython only raises exception *classes* this way, so an instance is sent as
    a one-off subclass of its class that rebuilds it (same name, module, args
    and attributes): ``except`` clauses and status names see the original type.
    """
    cls = exception if isinstance(exception, type) else _rebuilding_class(exception)
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(cls))
    if done > 1:  # never expected: undo rather than hit several threads
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)
        return False
    return done == 1


def _rebuilding_class(exception: BaseException) -> type[BaseException]:
    base = type(exception)
    args, attributes = exception.args, dict(getattr(exception, "__dict__", {}))

    def __init__(self: BaseException) -> None:
        base.__init__(self, *args)
        self.__dict__.update(attributes)

    return type(base.__name__, (base,), {"__init__": __init__, "__module__": base.__module__,
                                         "__qualname__": base.__qualname__})


def release_thread_hub() -> None:
    """Close this thread's gevent hub, if it has one: call it last in a thread that ran a solo worker.

    Every thread that touches gevent (a ``gevent.Timeout`` around a job, a
    ``gevent.sleep`` in a service) gets its own hub holding an epoll file
    descriptor; without this, each such thread leaks one.
    """
    from gevent._hub_local import get_hub_if_exists
    hub = get_hub_if_exists()
    if hub is not None:
        hub.destroy(destroy_loop=True)


#: pool name -> class, for ``Worker(pool="...")``
POOLS: dict[str, type[WorkerPool]] = {GeventPool.name: GeventPool, SoloPool.name: SoloPool}


def make_pool(pool: "str | WorkerPool", size: int) -> WorkerPool:
    """A pool from its name (``"gevent"``, ``"solo"``) and ``size``; a WorkerPool instance is returned as is."""
    if isinstance(pool, WorkerPool):
        return pool
    cls = POOLS.get(pool) if isinstance(pool, str) else None
    if cls is None:
        close = difflib.get_close_matches(str(pool), list(POOLS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError("pool", f"unknown pool {pool!r}{hint}; choose one of {sorted(POOLS)}")
    return cls(size)
