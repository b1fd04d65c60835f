"""Everything a run is parametrised by: where Redis is, key namespaces, workload sizes, targets.

Standard library only: the orchestrator imports this under any interpreter.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
BENCH_VENV_PYTHON = BENCH_DIR / ".venv" / "bin" / "python"

# Redis database 13 is reserved for benchmarks on the shared server; every system also writes under
# its own key prefix, and cleanup deletes only those prefixes (never FLUSHDB: others share the server).
# BENCH_KEY_PREFIX lets the harness test run beside a real benchmark run without touching its keys
# (except RQ's, whose ``rq:`` names are fixed).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
KEY_PREFIX = os.environ.get("BENCH_KEY_PREFIX", "bench:")

SYSTEMS = ("mrqc", "celery", "dramatiq", "rq", "huey")
PEER_MODULES = {  # what must be importable under the benchmark interpreter for a system to run
    "mrqc": "mrqcore",
    "celery": "celery",
    "dramatiq": "dramatiq",
    "rq": "rq",
    "huey": "huey",
}
WORKLOADS = ("enqueue", "drain", "latency", "io", "raw", "memory")

IO_SLEEP = 0.05  # seconds each I/O-bound job waits


@dataclass(frozen=True)
class Scale:
    """Job counts and time limits of one run mode."""

    name: str
    enqueue: int
    drain: int
    latency: int
    latency_warmup: int
    io: int
    io_budget: float  # a config whose ideal I/O time exceeds this is skipped (low concurrency)
    raw: int
    memory: int
    memory_warmup: int
    phase_timeout: float  # upper bound of any single phase, seconds
    system_timeout: float  # upper bound of one system's runner process, seconds
    first_config_only: bool  # quick mode runs each system's recommended config only

    def as_dict(self) -> dict:
        return asdict(self)


FULL = Scale(name="full", enqueue=20_000, drain=20_000, latency=500, latency_warmup=20, io=2_000,
             io_budget=20.0, raw=100_000, memory=100_000, memory_warmup=2_000,
             phase_timeout=480.0, system_timeout=2_400.0, first_config_only=False)
QUICK = Scale(name="quick", enqueue=500, drain=500, latency=50, latency_warmup=5, io=100,
              io_budget=3.0, raw=2_000, memory=2_000, memory_warmup=200,
              phase_timeout=60.0, system_timeout=240.0, first_config_only=True)
SCALES = {s.name: s for s in (FULL, QUICK)}

# Targets printed next to the results: (workload, metric, description). The comparison logic is in
# benchmarks.report; these are only the thresholds.
TARGET_DRAIN_RATIO = 3.0  # mrqc drain rate >= 3x the best peer's
TARGET_BULK_RATIO = 3.0  # mrqc bulk enqueue rate >= 3x the best peer's bulk route
TARGET_LATENCY_RATIO = 1.0  # best peer p50 / mrqc p50 >= 1 (mrqc p50 no worse)
TARGET_IO_EFFICIENCY = 0.90  # ideal time / measured time for mrqc's configured concurrency
TARGET_MEMORY_GROWTH = 0.10  # RSS growth over the memory workload below 10%
