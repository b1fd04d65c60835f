"""``subpool_map``: run a function over many inputs in a small pool of greenlets, inside a job.

    from mrqcore.context import subpool_map

    pages = subpool_map(10, fetch, urls)   # 10 fetches at a time, results in url order

Each call runs in a copy of the caller's context (``contextvars``): a new
greenlet starts with an empty context, so without the copy ``get_current_job()``
would be None inside ``func``. Each call gets its own copy, so a context
variable one call sets is not seen by the others.

Works outside a job and in a process that gevent did not monkey-patch (calls
that block without yielding to gevent then simply run one after the other).
"""
from __future__ import annotations

import contextvars
from typing import Any, Callable, Iterable, TypeVar

import gevent
import gevent.event

T = TypeVar("T")
R = TypeVar("R")


def subpool_map(pool_size: int, func: Callable[[T], R], iterable: Iterable[T]) -> list[R]:
    """Return ``[func(x) for x in iterable]``, computed by up to ``pool_size`` greenlets at once.

    * Order: results are in input order, whatever order the calls finish in.
    * Context: each call runs in a copy of the caller's ``contextvars`` context,
      so ``get_current_job()`` inside ``func`` is the caller's job.
    * Errors: when a call raises (any exception, including mrqc's interrupts such
      as ``retry_current_job()``), no new call starts, the calls still running
      are killed (``GreenletExit`` is raised where they wait), and the first
      exception is raised to the caller with its traceback. If the caller itself
      is interrupted (job timeout, worker shutdown), the calls are killed too.

    ``iterable`` is read fully before the first call. ``pool_size`` must be >= 1.
    """
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
        raise ValueError(f"subpool_map pool_size must be an int >= 1, got {pool_size!r}")
    items = list(iterable)
    if not items:
        return []
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []
    finished = gevent.event.Event()
    parent = contextvars.copy_context()
    todo = iter(enumerate(items))
    alive = [min(pool_size, len(items))]

    def runner() -> None:
        try:
            for index, item in todo:  # next() never yields: greenlets share the iterator safely
                if errors:
                    return
                try:
                    results[index] = parent.copy().run(func, item)
                except gevent.GreenletExit:
                    raise
                except BaseException as exc:  # noqa: BLE001 - handed to the caller as is
                    errors.append(exc)
                    finished.set()
                    return
        finally:
            alive[0] -= 1
            if alive[0] == 0:
                finished.set()

    greenlets = [gevent.spawn(runner) for _ in range(alive[0])]
    try:
        finished.wait()
    finally:
        gevent.killall([g for g in greenlets if not g.dead], block=True)
    if errors:
        raise errors[0]
    return results


__all__ = ["subpool_map"]
