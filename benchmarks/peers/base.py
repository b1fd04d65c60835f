"""The contract every system's client side implements, so that workloads are written once.

A peer knows how to enqueue the benchmark's two tasks (a no-op returning its int argument, and an
I/O job that waits ``IO_SLEEP`` seconds on a gevent-friendly sleep), how to tell which jobs have a
stored result in one Redis round trip, how to wait for one result, how to start its workers, and
which keys are its own. It knows nothing about timing: that is ``benchmarks.workloads``.
"""
from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from benchmarks.settings import KEY_PREFIX, REDIS_URL, REPO_DIR

Handle = Any  # whatever a peer needs to find a job's result again (an id, a message, a key)


class Unavailable(Exception):
    """The system lacks what a workload needs (reported as "not available", not as an error)."""


@dataclass(frozen=True)
class WorkerConfig:
    """One way of running a system's workers; the report names it and prints ``describe``."""

    name: str
    describe: str
    concurrency: int  # jobs in flight at once across all worker processes (I/O ideal uses it)
    options: dict = field(default_factory=dict)  # peer-specific knobs (pool type, counts ...)


class Peer(ABC):
    """Client side of one queue system, used from the runner process."""

    system: str = ""
    single_api: str = ""  # how one job is enqueued, printed in the report
    bulk_api: str | None = None  # the bulk route used, or None if the system has none
    queue = "bench"
    has_burst = False  # whether its worker can drain the queues and exit by itself

    @abstractmethod
    def configs(self) -> list[WorkerConfig]:
        """Worker configurations, the recommended one for 2 cores first."""

    def use_config(self, config: WorkerConfig) -> None:  # noqa: B027 (optional hook, empty by default)
        """Set up the client for ``config`` (most peers need nothing)."""

    @abstractmethod
    def enqueue(self, x: int) -> Handle:
        """Queue the no-op job with argument ``x``."""

    def enqueue_bulk(self, xs: Sequence[int]) -> list[Handle]:
        """Queue no-op jobs through the system's bulk route; NotImplementedError if it has none."""
        raise NotImplementedError(f"{self.system} has no bulk enqueue API")

    @abstractmethod
    def enqueue_io(self, count: int) -> list[Handle]:
        """Queue ``count`` I/O jobs, by the bulk route if there is one."""

    @abstractmethod
    def done(self, handles: Sequence[Handle]) -> list[bool]:
        """For each handle, whether its result is stored; one Redis round trip."""

    @abstractmethod
    def wait(self, handle: Handle, timeout: float) -> Any:
        """Block until the job's result is stored (the system's own waiting API) and return it."""

    @abstractmethod
    def result(self, handle: Handle) -> Any:
        """The stored result of a finished job (used to spot-check correctness)."""

    @abstractmethod
    def worker_argv(self, config: WorkerConfig, burst: bool) -> list[str]:
        """Command line of the worker for ``config``; ``burst`` only when ``has_burst``."""

    def raw_throughput(self, config: WorkerConfig, scale, log_dir: Path) -> dict:
        """Run the raw-queue workload; returns row fields (``seconds``, ``rate`` ...)."""
        raise NotImplementedError(f"{self.system} has no raw queues")

    def worker_env(self, config: WorkerConfig) -> dict[str, str]:
        """Environment of the worker processes (the client process gets the same variables)."""
        return {}

    @abstractmethod
    def key_patterns(self) -> list[str]:
        """SCAN MATCH patterns covering every key this system writes in the benchmark database."""

    def purge(self) -> int:
        """Delete this system's keys; returns how many were deleted."""
        return delete_matching(self.redis(), self.key_patterns())

    def redis(self):
        import redis

        if not hasattr(self, "_redis"):
            self._redis = redis.Redis.from_url(REDIS_URL)
        return self._redis

    def version(self) -> str:
        import importlib.metadata

        return importlib.metadata.version(self.distribution)

    distribution = ""


def delete_matching(conn, patterns: Iterable[str]) -> int:
    """Delete keys matching ``patterns`` with SCAN (never KEYS, never FLUSHDB)."""
    deleted = 0
    for pattern in patterns:
        assert pattern.startswith(("bench", "rq:", "huey.")) or KEY_PREFIX in pattern, pattern
        batch = []
        for key in conn.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += conn.unlink(*batch)
                batch = []
        if batch:
            deleted += conn.unlink(*batch)
    return deleted


def python() -> str:
    """The interpreter running the benchmark (the bench venv's, normally); workers use the same."""
    return sys.executable


def console_script(name: str) -> str:
    """Path of a console script installed beside the running interpreter."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(f"console script {name!r} not found beside {sys.executable}")
    return str(path)


def base_env() -> dict[str, str]:
    """Environment shared by clients and workers: the repo importable, output unbuffered."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_DIR), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env
