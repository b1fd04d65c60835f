"""mrqc: ``mrqc worker bench --processes 2 --greenlets 100`` (one gevent worker process per core,
supervised), and the same with a single process (``--processes 0``).

Configured through the environment (``MRQC_REDIS``, ``MRQC_REDIS_PREFIX=bench:mrqc:``), set here for
the client and inherited by the workers. Bulk route: ``queue_jobs(path, params, batch_size=1000)``.
The raw-queue workload pushes ints with ``queue_raw_jobs`` to a raw queue whose ``job_factory``
turns each into a no-op job, and times a burst worker from start to exit.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks.peers.base import (
    Peer,
    Unavailable,
    WorkerConfig,
    console_script,
    python,
)
from benchmarks.settings import KEY_PREFIX, REDIS_URL, Scale

PREFIX = f"{KEY_PREFIX}mrqc:"
NOOP = "benchmarks.peers.mrqc_tasks.Noop"
IO = "benchmarks.peers.mrqc_tasks.Io"
RAW_QUEUE = "bench_raw"
RAW_QUEUES = {RAW_QUEUE: {"job_factory": "benchmarks.peers.mrqc_tasks.raw_job_factory"}}
BATCH = 1000

os.environ["MRQC_REDIS"] = REDIS_URL
os.environ["MRQC_REDIS_PREFIX"] = PREFIX
os.environ["MRQC_LOG_LEVEL"] = "WARNING"
os.environ["MRQC_RAW_QUEUES"] = json.dumps(RAW_QUEUES)

from mrqcore.job import FINAL_STATUSES, Job, get_job_result, queue_job, queue_jobs  # noqa: E402
from mrqcore.keys import Keys  # noqa: E402


class MrqcPeer(Peer):
    system = "mrqc"
    distribution = "mrqc"
    single_api = 'queue_job(path, {"x": x}, queue="bench")'
    bulk_api = f'queue_jobs(path, [{{"x": x}} ...], queue="bench", batch_size={BATCH})'
    has_burst = True

    def __init__(self) -> None:
        self.keys = Keys(PREFIX)

    def configs(self) -> list[WorkerConfig]:
        return [
            WorkerConfig("p2-g100", "mrqc worker --processes 2 --greenlets 100", 200, {"p": 2, "g": 100}),
            WorkerConfig("p0-g100", "mrqc worker --processes 0 --greenlets 100 (one process)", 100,
                         {"p": 0, "g": 100}),
        ]

    def enqueue(self, x: int) -> str:
        return queue_job(NOOP, {"x": x}, queue=self.queue)

    def enqueue_bulk(self, xs: Sequence[int]) -> list[str]:
        return queue_jobs(NOOP, [{"x": x} for x in xs], queue=self.queue, batch_size=BATCH)

    def enqueue_io(self, count: int) -> list[str]:
        return queue_jobs(IO, [{"x": x} for x in range(count)], queue=self.queue, batch_size=BATCH)

    def done(self, handles: Sequence[str]) -> list[bool]:
        pipe = self.redis().pipeline(transaction=False)
        for job_id in handles:
            pipe.hget(self.keys.job(job_id), "status")
        return [status is not None and status.decode() in FINAL_STATUSES for status in pipe.execute()]

    def wait(self, handle: str, timeout: float) -> Any:
        return Job(handle).wait(timeout=timeout)

    def result(self, handle: str) -> Any:
        record = get_job_result(handle)
        if record["status"] != "success":
            raise AssertionError(f"job {handle} ended {record['status']}")
        return record["result"]

    def worker_argv(self, config: WorkerConfig, burst: bool, queue: str | None = None) -> list[str]:
        try:
            head = [console_script("mrqc")]
        except FileNotFoundError:  # not pip-installed: the module entry point does the same patching
            head = [python(), "-m", "mrqcore.cli"]
        argv = [*head, "worker", queue or self.queue, "--processes", str(config.options["p"]),
                "--greenlets", str(config.options["g"])]
        return [*argv, "--burst"] if burst else argv

    def worker_env(self, config: WorkerConfig) -> dict[str, str]:
        return {"MRQC_REDIS": REDIS_URL, "MRQC_REDIS_PREFIX": PREFIX, "MRQC_LOG_LEVEL": "WARNING",
                "MRQC_RAW_QUEUES": json.dumps(RAW_QUEUES)}

    def key_patterns(self) -> list[str]:
        return [f"{PREFIX}*"]

    def raw_throughput(self, config: WorkerConfig, scale: Scale, log_dir: Path) -> dict:
        from benchmarks.workloads import make_worker

        try:
            from mrqcore.raw import queue_raw_jobs, raw_queue_for
        except ImportError as exc:
            raise Unavailable(f"mrqc raw queues: {type(exc).__name__}: {exc}") from exc
        n = scale.raw
        deadline = time.perf_counter() + scale.phase_timeout
        push_start = time.perf_counter()
        queue_raw_jobs(RAW_QUEUE, [str(x) for x in range(n)], batch_size=BATCH)
        push_seconds = time.perf_counter() - push_start
        worker = make_worker(self, config, log_dir, True, argv=self.worker_argv(config, True, RAW_QUEUE),
                             log_name="raw").start()
        try:
            if not worker.wait_exit(max(1.0, deadline - time.perf_counter())):
                raise TimeoutError(f"burst worker still running after {scale.phase_timeout:.0f} s")
            seconds = time.perf_counter() - worker.started_at
        finally:
            worker.stop()
        left = raw_queue_for(RAW_QUEUE).size()
        if left:
            raise AssertionError(f"the burst worker exited (code {worker.popen.returncode}) leaving {left} of "
                                 f"{n} raw items queued; log tail:\n{worker.tail()}")
        statuses = self._count_statuses()
        if statuses.get("success", 0) != n:
            raise AssertionError(f"job statuses {statuses} for {n} raw items; log tail:\n{worker.tail()}")
        return {"seconds": seconds, "rate": n / seconds, "push_seconds": push_seconds,
                "push_rate": n / push_seconds, "api": f"queue_raw_jobs({RAW_QUEUE!r}, items, batch_size={BATCH})"}

    def _count_statuses(self) -> dict[str, int]:
        conn = self.redis()
        counts: dict[str, int] = {}
        keys = list(conn.scan_iter(match=self.keys.job("*"), count=1000))
        for start in range(0, len(keys), 1000):
            pipe = conn.pipeline(transaction=False)
            for key in keys[start:start + 1000]:
                pipe.hget(key, "status")
            for status in pipe.execute():
                name = status.decode() if status else "none"
                counts[name] = counts.get(name, 0) + 1
        return counts
