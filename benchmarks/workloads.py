"""The workloads, written once against ``benchmarks.peers.base.Peer``.

Each function returns one result row (a dict) and raises nothing for a system's own failure: an
exception inside a workload becomes the row's ``error``, so one broken system cannot hide the others.
Every wait is bounded by a deadline. Clocks: ``time.perf_counter``. Completion is observed by polling
the stored results in one pipelined round trip per poll (``Peer.done``), oldest jobs first.
"""
from __future__ import annotations

import contextlib
import random
import statistics
import time
import traceback
from pathlib import Path
from typing import Iterator, Sequence

from benchmarks.peers.base import Handle, Peer, Unavailable, WorkerConfig, base_env
from benchmarks.procs import WorkerProcess, tree_rss
from benchmarks.settings import IO_SLEEP, REPO_DIR, Scale

POLL_INTERVAL = 0.02  # seconds between completion polls while jobs are pending
POLL_CHUNK = 500  # pending jobs checked per poll, oldest first
SPOT_CHECKS = 20  # results read back and compared after a drain
WARMUP_ENQUEUES = 20  # untimed enqueues that open connections before an enqueue measurement


class PhaseTimeout(Exception):
    """A phase did not finish within its time limit."""


class WorkerDied(Exception):
    """The worker exited while jobs were still pending."""


def enqueue_rows(peer: Peer, scale: Scale) -> list[dict]:
    """Enqueue rate from one client, single calls then the bulk route; no worker is running."""
    n = scale.enqueue
    rows = []
    for mode in ("single", "bulk"):
        row = {"system": peer.system, "config": "client", "mode": mode, "n": n,
               "api": peer.single_api if mode == "single" else peer.bulk_api}
        if mode == "bulk" and peer.bulk_api is None:
            row["skipped"] = f"{peer.system} has no bulk enqueue API"
            rows.append(row)
            continue
        with _row_errors(row):
            for x in range(WARMUP_ENQUEUES):
                peer.enqueue(x)
            peer.purge()
            deadline = time.perf_counter() + scale.phase_timeout
            start = time.perf_counter()
            handles = _enqueue_single(peer, n, deadline) if mode == "single" else peer.enqueue_bulk(range(n))
            seconds = time.perf_counter() - start
            if len(handles) != n:
                raise AssertionError(f"{len(handles)} handles for {n} jobs")
            row.update(seconds=seconds, rate=n / seconds)
        peer.purge()
        rows.append(row)
    return rows


def drain_row(peer: Peer, config: WorkerConfig, scale: Scale, log_dir: Path) -> dict:
    """Time from worker start until every one of ``scale.drain`` pre-queued results is stored."""
    n = scale.drain
    row = _config_row(peer, config, n=n, burst=peer.has_burst)
    with _row_errors(row):
        deadline = time.perf_counter() + scale.phase_timeout
        handles = prefill(peer, n, deadline)
        worker = make_worker(peer, config, log_dir, burst=peer.has_burst)
        try:
            worker.start()
            finished = wait_all(peer, handles, deadline, worker=worker)
            seconds = finished - worker.started_at
            row.update(seconds=seconds, rate=n / seconds)
            if peer.has_burst and not worker.wait_exit(min(30.0, scale.phase_timeout)):
                row["note"] = "burst worker did not exit within 30 s of the last result"
        finally:
            worker.stop()
        spot_check(peer, handles)
    peer.purge()
    return row


@contextlib.contextmanager
def warm_worker(peer: Peer, config: WorkerConfig, log_dir: Path) -> Iterator[WorkerProcess]:
    """A long-running worker for ``config``, stopped (and its keys purged) on exit."""
    worker = make_worker(peer, config, log_dir, burst=False)
    try:
        yield worker.start()
    finally:
        worker.stop()
        peer.purge()


def latency_row(peer: Peer, config: WorkerConfig, scale: Scale, worker: WorkerProcess) -> dict:
    """Sequential round trips (enqueue, wait for the result) against a warm, idle worker."""
    n = scale.latency
    row = _config_row(peer, config, n=n, warmup=scale.latency_warmup)
    with _row_errors(row, worker):
        deadline = time.perf_counter() + scale.phase_timeout
        # The first round trip also waits for the worker to start up.
        _expect(peer.wait(peer.enqueue(-1), timeout=min(60.0, scale.phase_timeout)), -1)
        for x in range(scale.latency_warmup):
            _expect(peer.wait(peer.enqueue(x), timeout=30.0), x)
        samples = []
        for x in range(n):
            start = time.perf_counter()
            value = peer.wait(peer.enqueue(x), timeout=30.0)
            samples.append(time.perf_counter() - start)
            _expect(value, x)
            _check_deadline(deadline, f"{x + 1}/{n} round trips")
        samples.sort()
        row.update(p50_ms=1000 * percentile(samples, 50), p99_ms=1000 * percentile(samples, 99),
                   mean_ms=1000 * statistics.fmean(samples), max_ms=1000 * samples[-1])
    return row


def io_row(peer: Peer, config: WorkerConfig, scale: Scale, worker: WorkerProcess) -> dict:
    """I/O-bound jobs (each sleeps IO_SLEEP) through a warm worker, against the ideal n*sleep/concurrency.

    Timed from the first enqueue to the last stored result; run after the latency phase, so the
    worker has started and is idle.
    """
    n = scale.io
    ideal = n * IO_SLEEP / config.concurrency
    row = _config_row(peer, config, n=n, concurrency=config.concurrency, ideal_seconds=ideal)
    if ideal > scale.io_budget:
        row["skipped"] = f"ideal {ideal:.0f} s > {scale.io_budget:.0f} s budget (concurrency {config.concurrency})"
        return row
    with _row_errors(row, worker):
        deadline = time.perf_counter() + min(scale.phase_timeout, 30 + 20 * ideal)
        start = time.perf_counter()
        handles = peer.enqueue_io(n)
        seconds = wait_all(peer, handles, deadline, worker=worker) - start
        row.update(seconds=seconds, rate=n / seconds, efficiency=ideal / seconds)
        spot_check(peer, handles)
    return row


def memory_row(peer: Peer, config: WorkerConfig, scale: Scale, log_dir: Path) -> dict:
    """Worker RSS (the worker's whole process tree) after a warm-up, and after ``scale.memory`` jobs."""
    n = scale.memory
    row = _config_row(peer, config, n=n, warmup=scale.memory_warmup)
    with _row_errors(row), warm_worker(peer, config, log_dir) as worker:
        deadline = time.perf_counter() + scale.phase_timeout
        wait_all(peer, prefill(peer, scale.memory_warmup, deadline), deadline, worker=worker)
        before = tree_rss(worker.pid)
        start = time.perf_counter()
        handles: list[Handle] = []
        for first in range(0, n, 10_000):  # enqueue while the worker runs, in bounded batches
            handles += prefill(peer, min(10_000, n - first), deadline, first=first)
        wait_all(peer, handles, deadline, worker=worker)
        seconds = time.perf_counter() - start
        after = tree_rss(worker.pid)
        row.update(rss_before_mb=before / 2**20, rss_after_mb=after / 2**20,
                   growth=(after - before) / before, seconds=seconds, rate=n / seconds)
    return row


def raw_row(peer: Peer, config: WorkerConfig, scale: Scale, log_dir: Path) -> dict:
    """Items pushed to a raw queue and turned into jobs by the worker (systems that have raw queues)."""
    row = _config_row(peer, config, n=scale.raw)
    with _row_errors(row):
        try:
            row.update(peer.raw_throughput(config, scale, log_dir))
        except Unavailable as exc:
            row["unavailable"] = str(exc)
    peer.purge()
    return row


# -- helpers ---------------------------------------------------------------------------------------

def prefill(peer: Peer, n: int, deadline: float, first: int = 0) -> list[Handle]:
    """Queue no-op jobs ``first .. first+n-1`` by the bulk route if the system has one."""
    if peer.bulk_api is not None:
        handles = []
        for start in range(first, first + n, 1_000):
            handles += peer.enqueue_bulk(range(start, min(start + 1_000, first + n)))
            _check_deadline(deadline, f"prefill {len(handles)}/{n}")
        return handles
    return _enqueue_single(peer, n, deadline, first)


def wait_all(peer: Peer, handles: Sequence[Handle], deadline: float, *,
             worker: WorkerProcess | None = None) -> float:
    """Poll until every handle's result is stored; returns the perf_counter time it was seen.

    Polls the oldest ``POLL_CHUNK`` pending jobs per round trip, so a poll costs one pipelined
    request however many jobs are queued. If the worker exits (a burst worker does when the queue
    is empty), one last poll of everything pending decides between done and ``WorkerDied``.
    """
    pending = list(handles)
    total = len(pending)
    while pending:
        head = pending[:POLL_CHUNK]
        flags = peer.done(head)
        if all(flags):
            del pending[:POLL_CHUNK]
            continue
        pending[:POLL_CHUNK] = [h for h, flag in zip(head, flags, strict=True) if not flag]
        if worker is not None and not worker.alive():
            if all(peer.done(pending)):
                break
            raise WorkerDied(f"worker exited (code {worker.popen.returncode}) with "
                             f"{len(pending)}/{total} jobs pending; log tail:\n{worker.tail()}")
        _check_deadline(deadline, f"{total - len(pending)}/{total} results stored")
        time.sleep(POLL_INTERVAL)
    return time.perf_counter()


def spot_check(peer: Peer, handles: Sequence[Handle]) -> None:
    """Read back a few results and compare them to the argument each job was given."""
    for index in random.Random(5).sample(range(len(handles)), min(SPOT_CHECKS, len(handles))):
        _expect(peer.result(handles[index]), index)


def percentile(sorted_samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted samples."""
    rank = max(1, -(-len(sorted_samples) * pct // 100))
    return sorted_samples[int(rank) - 1]


def _enqueue_single(peer: Peer, n: int, deadline: float, first: int = 0) -> list[Handle]:
    handles = []
    for x in range(first, first + n):
        handles.append(peer.enqueue(x))
        if x % 500 == 0:
            _check_deadline(deadline, f"enqueue {x - first}/{n}")
    return handles


def make_worker(peer: Peer, config: WorkerConfig, log_dir: Path, burst: bool,
                argv: list[str] | None = None, log_name: str = "") -> WorkerProcess:
    """The (not yet started) worker process of ``config``; ``argv`` overrides its command line."""
    env = base_env()
    env.update(peer.worker_env(config))
    log_path = log_dir / f"{peer.system}-{config.name}{'-' + log_name if log_name else ''}.log"
    return WorkerProcess(argv or peer.worker_argv(config, burst), env=env, cwd=REPO_DIR, log_path=log_path)


def _config_row(peer: Peer, config: WorkerConfig, **fields: object) -> dict:
    return {"system": peer.system, "config": config.name, "describe": config.describe, **fields}


def _check_deadline(deadline: float, progress: str) -> None:
    if time.perf_counter() > deadline:
        raise PhaseTimeout(f"phase time limit reached ({progress})")


def _expect(value: object, expected: int) -> None:
    if value != expected:
        raise AssertionError(f"job returned {value!r}, expected {expected!r}")


@contextlib.contextmanager
def _row_errors(row: dict, worker: WorkerProcess | None = None) -> Iterator[None]:
    """Record an exception as the row's error (with the worker's log tail if it died)."""
    try:
        yield
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".strip()
        if worker is not None and not worker.alive() and not isinstance(exc, WorkerDied):
            message += f"\nworker exited (code {worker.popen.returncode}); log tail:\n{worker.tail()}"
        row["error"] = message
        row["traceback"] = traceback.format_exc(limit=8)

