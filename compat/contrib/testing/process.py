"""A real ``mrqc worker -A`` process serving a test app: ``start_worker_process(app)``.

Used by ``mrqc.contrib.pytest`` when ``celery_worker_pool`` names a process
pool (``"prefork"``, as Celery's own integration suite asks for, or
``"gevent"``): Celery then runs tasks in child processes, so a task never
shares the test's memory; mrqc runs them in a ``mrqc worker`` process with its
gevent pool, which also enforces time limits and lets a task wait on another
task's result. Its ``task_received`` signals are sent again in the test
process (``mrqc.contrib.testing.relay``), as a test written for Celery's
in-process test worker expects.

The worker process rebuilds the test app from a description (its settings,
key prefix, the modules to import and the class-based tasks to register; see
``mrqc.contrib.testing.worker_app``): tasks must live in importable modules
(``celery_includes``), not in test functions.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Iterator, Sequence

from mrqcore.runtime import Runtime

__all__ = ("WorkerProcess", "start_worker_process", "PROCESS_POOLS")

#: ``celery_worker_pool`` values that mean a worker process
PROCESS_POOLS = frozenset({"prefork", "processes", "gevent", "eventlet"})


class WorkerProcess:
    """``mrqc worker -A mrqc.contrib.testing.worker_app`` for one app; ``start()``, ``stop()``, ``with``."""

    __test__ = False

    def __init__(self, app: Any, includes: Sequence[str] = (), class_tasks: Sequence[Any] = (),
                 queues: Sequence[str] | None = None, concurrency: int | None = None, **ignored: Any) -> None:
        from . import queues_of, runtime_of
        self.app = app
        self.runtime: Runtime = runtime_of(app)
        self.queues = list(queues or queues_of(app))
        config = {key: value for key, value in dict(app.conf).items() if _jsonable(value)} \
            if hasattr(app.conf, "keys") else {}
        self.description = {
            "main": app.main, "config": config, "prefix": self.runtime.config.redis_prefix,
            "includes": list(includes),
            "class_tasks": [_reference(task) for task in class_tasks],
        }
        self.concurrency = concurrency
        self.proc: subprocess.Popen | None = None
        self.relay: Any = None
        self.log_path = os.path.join(tempfile.mkdtemp(prefix="mrqc-test-worker-"), "worker.log")

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "mrqcore.cli", "worker", *self.queues,
                   "-A", "mrqc.contrib.testing.worker_app"]
        if self.concurrency:
            command += ["--greenlets", str(self.concurrency)]
        return command

    def start(self, timeout: float = 30.0) -> "WorkerProcess":
        """Start the process; returns once a worker on this app's store reports itself alive."""
        env = dict(os.environ, MRQC_TEST_WORKER_APP=json.dumps(self.description))
        env["PYTHONPATH"] = os.pathsep.join([os.getcwd()] + [p for p in [env.get("PYTHONPATH")] if p])
        before = set(self.runtime.store.worker_heartbeats())
        from .relay import SignalRelay
        self.relay = SignalRelay(self.runtime.store).start()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not set(self.runtime.store.worker_heartbeats()) - before:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the test worker process did not start; its log:\n{self.output()}")
            time.sleep(0.1)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the worker's graceful stop), then SIGKILL after ``timeout``."""
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        try:
            with open(self.log_path, errors="replace") as fh:
                return fh.read()[-8000:]
        except FileNotFoundError:
            return ""

    def reload(self, *args: Any, **kwargs: Any) -> None:
        """Accepted (Celery's ``reload``); a process cannot see tasks defined after it started."""

    def ensure_started(self) -> None:
        """Started by ``start()`` already."""

    def __enter__(self) -> "WorkerProcess":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def start_worker_process(app: Any, includes: Sequence[str] = (), class_tasks: Sequence[Any] = (),
                         shutdown_timeout: float = 30.0, **kwargs: Any) -> Iterator[WorkerProcess]:
    """Run ``mrqc worker`` for ``app`` in a process while the block runs."""
    worker = WorkerProcess(app, includes=includes, class_tasks=class_tasks, **kwargs).start()
    try:
        yield worker
    finally:
        worker.stop(shutdown_timeout)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _reference(task: Any) -> str:
    cls = task if isinstance(task, type) else type(task)
    if "<locals>" in cls.__qualname__:
        raise ValueError(f"class task {cls.__qualname__} is defined in a function: a worker process cannot "
                         "import it; define it at module level")
    return f"{cls.__module__}:{cls.__qualname__}"
