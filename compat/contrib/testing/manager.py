"""``Manager``: Celery's integration-test helper (``celery.contrib.testing.manager``) for mrqc apps.

    manager = Manager(app)
    manager.wait_for(check, catch=(AssertionError,))   # retry ``check`` until it stops raising
    manager.join(result)                                # wait for results, retrying timeouts
    manager.wait_until_idle()                           # purge the queues, wait for running jobs

As in Celery, ``wait_for`` retries ``fun`` while it raises one of ``catch``,
sleeping ``interval_start``, then ``+interval_step`` each time up to
``interval_max``, at most ``max_retries`` times (``None``: forever), then
re-raises. The checks that Celery makes through ``app.control.inspect()``
read the store instead (``wait_until_idle``: the workers' in-flight jobs;
``assert_accepted``: the jobs' records); ``inspect()`` itself is
``app.control.inspect()``, answered by the live workers.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Sequence, TextIO

from mrqc import states
from mrqc.exceptions import TimeoutError

__all__ = ("Manager", "ManagerMixin", "Sentinel")


class Sentinel(Exception):
    """Raised by ``true_or_raise`` when a condition is not true yet."""


class ManagerMixin:
    """The helpers of :class:`Manager` (Celery's names and defaults)."""

    app: Any

    def _init_manager(self, block_timeout: float = 30 * 60.0, no_join: bool = False, stdout: TextIO | None = None,
                      stderr: TextIO | None = None) -> None:
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.block_timeout = block_timeout
        self.no_join = no_join

    def remark(self, s: str, sep: str = "-") -> None:
        print(f"{sep}{s}", file=self.stdout)

    def warn(self, s: str) -> None:
        self.stderr.write(s + "\n")

    def wait_for(self, fun: Callable[..., Any], catch: Sequence[type[BaseException]] | type[BaseException],
                 desc: str = "thing", args: tuple = (), kwargs: dict | None = None,
                 errback: Callable[..., Any] | None = None, max_retries: int | None = 10,
                 interval_start: float = 0.1, interval_step: float = 0.5, interval_max: float = 5.0,
                 emit_warning: bool = False, timeout: float | None = None, **options: Any) -> Any:
        """Call ``fun(*args, **kwargs)`` until it returns without raising one of ``catch``; return its value."""
        catch = tuple(catch) if isinstance(catch, (list, tuple, set)) else (catch,)
        interval = interval_start
        deadline = None if timeout is None else time.monotonic() + timeout
        retries = 0
        while True:
            try:
                return fun(*args, **(kwargs or {}))
            except catch as exc:
                if (max_retries is not None and retries >= max_retries) or \
                        (deadline is not None and time.monotonic() + interval > deadline):
                    raise
                if emit_warning:
                    self.warn(f"Still waiting for {desc}. Trying again in {interval:.2f}s: {exc!r}")
                if errback is not None:
                    errback(exc, interval, retries)
                time.sleep(interval)
                retries += 1
                interval = min(interval + interval_step, interval_max)

    def ensure_not_for_a_while(self, fun: Callable[..., Any], catch: Any, desc: str = "thing",
                               max_retries: int = 20, interval_start: float = 0.1, interval_step: float = 0.02,
                               interval_max: float = 1.0, emit_warning: bool = False, **options: Any) -> None:
        """Raise AssertionError if ``fun`` stops raising ``catch`` within the retries."""
        catch_tuple = tuple(catch) if isinstance(catch, (list, tuple, set)) else (catch,)
        try:
            self.wait_for(fun, catch_tuple, desc=desc, max_retries=max_retries, interval_start=interval_start,
                          interval_step=interval_step, interval_max=interval_max, emit_warning=emit_warning)
        except catch_tuple:
            return
        raise AssertionError(f"Should not have happened: {desc}")

    def join(self, r: Any, propagate: bool = False, max_retries: int = 10, **kwargs: Any) -> Any:
        """``r.get(propagate=...)`` (a result or a ResultSet), retrying timeouts ``max_retries`` times."""
        if self.no_join:
            return None
        from mrqc.result import ResultSet
        if not isinstance(r, ResultSet):
            r = ResultSet([r], app=self.app)
        for _ in range(max_retries or 1):
            try:
                return r.get(propagate=propagate, **kwargs)
            except TimeoutError as exc:
                self.remark(f"Still waiting for {len(r)} results: {exc!r}", "!")
        raise AssertionError("Test failed: Missing task results")

    def inspect(self, timeout: float = 3.0) -> Any:
        return self.app.control.inspect(timeout=timeout)

    def true_or_raise(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        res = fun(*args, **kwargs)
        if not res:
            raise Sentinel()
        return res

    # --- task states, read from the store ------------------------------------------------

    def assert_accepted(self, ids: Sequence[str], interval: float = 0.5,
                        desc: str = "waiting for tasks to be accepted", **policy: Any) -> Any:
        """Wait until a worker has started (or finished) every job of ``ids``."""
        return self.wait_for(lambda: self.true_or_raise(self.is_accepted, ids), (Sentinel,), desc=desc, **policy)

    def assert_received(self, ids: Sequence[str], interval: float = 0.5,
                        desc: str = "waiting for tasks to be received", **policy: Any) -> Any:
        """Wait until every job of ``ids`` exists in the store (queued, started or done)."""
        return self.wait_for(lambda: self.true_or_raise(self.is_received, ids), (Sentinel,), desc=desc, **policy)

    def assert_result_tasks_in_progress_or_completed(
            self, async_results: Sequence[Any], interval: float = 0.5,
            desc: str = "waiting for tasks to be started or completed", **policy: Any) -> Any:
        return self.wait_for(lambda: self.true_or_raise(self.is_result_task_in_progress, async_results),
                             (Sentinel,), desc=desc, **policy)

    @staticmethod
    def is_result_task_in_progress(results: Sequence[Any], **kwargs: Any) -> bool:
        return all(result.state in (states.STARTED, states.SUCCESS) for result in results)

    def is_received(self, ids: Sequence[str], **kwargs: Any) -> bool:
        return all(self.app.AsyncResult(i).exists for i in ids)

    def is_accepted(self, ids: Sequence[str], **kwargs: Any) -> bool:
        return all(self.app.AsyncResult(i).state not in (states.PENDING, states.RECEIVED) for i in ids)

    def wait_until_idle(self, timeout: float = 60.0) -> None:
        """Purge the app's queues, then wait until no worker of its store runs a job."""
        self.app.control.purge()
        store = self.app.runtime.store
        deadline = time.monotonic() + timeout
        while any(store.inflight(worker) for worker in store.worker_heartbeats()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers still running jobs after {timeout}s")
            time.sleep(0.05)


class Manager(ManagerMixin):
    """Test helpers for task integration tests (Celery's ``Manager``)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        self.app = app
        self._init_manager(**kwargs)
