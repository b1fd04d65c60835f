"""The Redis Cluster benchmark: drain of N jobs over several queues on 1 vs 3 shards (and one plain server).

    python -m benchmarks.cluster            # 100,000 jobs over 6 queues per config, 3 rounds
    python -m benchmarks.cluster --quick    # 2,000 jobs
    python -m benchmarks.cluster --count 50000 --queues 12 --processes 4

Configs, measured one after the other in the same run, each on fresh servers of its own on
loopback ports (the shared Redis on 6379 is not used):

| config | store URL | servers |
|---|---|---|
| ``redis 1 server`` | ``redis://`` | one ``redis-server`` (the single-node store: the baseline) |
| ``cluster 1 shard`` | ``redis+cluster://`` | one ``--cluster-enabled`` node holding every slot |
| ``cluster 3 shards`` | ``redis+cluster://`` | three masters (``redis-cli --cluster create``) |

The configs run in turns (round 1: each config once, round 2: each again...; ``--rounds``, default 3),
so load from other processes on a shared machine falls on all of them alike; the report gives each
config's median over the rounds, with the slowest and fastest. For each run: N no-op jobs
(``benchmarks.peers.mrqc_tasks.Noop``) are queued with ``queue_jobs``
(batches of 1,000; the bulk enqueue rate is reported too), spread evenly over the queues, whose names
are chosen so each of the three shards serves the same number of them. Then one
``mrqc worker <queues> --processes P --greenlets 100 --burst`` is timed from its start until it exits
(startup included), and every job is checked to have succeeded. The Redis servers' own CPU time over
the run (enqueue and drain; ``INFO cpu``) is reported too, summed and for the busiest server: that is what
limits throughput once Redis, not the workers, is the bottleneck, and what more shards divide. Results: printed as markdown and
written to ``benchmarks/results/cluster-<time>.md`` (``cluster-latest.md`` after a default-sized
run); worker logs in ``benchmarks/results/logs/cluster-<time>/``. Main virtualenv; needs
``redis-server`` and ``redis-cli`` on PATH. Nothing here asserts speed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.procs import WorkerProcess
from benchmarks.settings import REPO_DIR, RESULTS_DIR

TASK = "benchmarks.peers.mrqc_tasks.Noop"
CONFIGS = ("redis 1 server", "cluster 1 shard", "cluster 3 shards")
#: the slot ranges ``redis-cli --cluster create`` gives three masters
SHARD_RANGES = ((0, 5460), (5461, 10922), (10923, 16383))


def balanced_queue_names(count: int) -> list[str]:
    """``count`` queue names whose hash tags fall evenly on the three masters' slot ranges."""
    from redis.crc import key_slot
    per_shard: list[list[str]] = [[] for _ in SHARD_RANGES]
    want = -(-count // len(SHARD_RANGES))
    i = 0
    while sum(len(names) for names in per_shard) < want * len(SHARD_RANGES):
        name = f"bench-c{i}"
        slot = key_slot(name.encode())
        shard = next(n for n, (low, high) in enumerate(SHARD_RANGES) if low <= slot <= high)
        if len(per_shard[shard]) < want:
            per_shard[shard].append(name)
        i += 1
    names = [name for group in zip(*per_shard) for name in group]
    return names[:count]


def start_servers(config: str, directory: str) -> tuple[str, Any]:
    """(store URL, object with ``stop()``) for one config, on fresh loopback servers."""
    sys.path.insert(0, str(REPO_DIR))
    from tests.redis_server import ClusterSet, RedisServer
    if config == "redis 1 server":
        server = RedisServer(os.path.join(directory, "single")).start()
        return server.url, server
    cluster = ClusterSet(os.path.join(directory, "cluster"), masters=1 if "1 shard" in config else 3).start()
    return cluster.url(), cluster


def server_cpu(ports: list[int]) -> list[float]:
    """CPU seconds (user + system) each Redis server on ``ports`` has used so far."""
    import redis
    out = []
    for port in ports:
        info = redis.Redis(port=port, socket_timeout=5).info("cpu")
        out.append(float(info["used_cpu_user"]) + float(info["used_cpu_sys"]))
    return out


def drain(config: str, count: int, queues: list[str], processes: int, timeout: float,
          log_dir: Path) -> dict[str, Any]:
    """One config: enqueue, then a timed burst drain; returns its row."""
    from mrqcore.config import Config
    from mrqcore.job import queue_jobs
    from mrqcore.runtime import Runtime
    prefix = f"bench:cluster:{uuid.uuid4().hex[:6]}:"
    row: dict[str, Any] = {"config": config, "count": count, "queues": len(queues), "processes": processes}
    with tempfile.TemporaryDirectory(prefix="mrqc-bench-cluster-") as directory:
        url, servers = start_servers(config, directory)
        ports = [node.port for node in servers.nodes] if hasattr(servers, "nodes") else [servers.port]
        runtime = Runtime(Config({"redis": url, "redis_prefix": prefix}))
        try:
            cpu_before = server_cpu(ports)
            share = -(-count // len(queues))
            started = time.perf_counter()
            for n, queue in enumerate(queues):
                first = n * share
                params = [{"x": x} for x in range(first, min(count, first + share))]
                if params:
                    queue_jobs(TASK, params, queue, batch_size=1000, runtime=runtime)
            row["enqueue_rate"] = round(count / (time.perf_counter() - started))
            env = dict(os.environ, MRQC_REDIS=url, MRQC_REDIS_PREFIX=prefix,
                       PYTHONPATH=os.pathsep.join([str(REPO_DIR), os.environ.get("PYTHONPATH", "")]))
            worker = WorkerProcess([sys.executable, "-m", "mrqcore.cli", "worker", *queues, "--processes",
                                    str(processes), "--greenlets", "100", "--burst", "--log-level", "WARNING"],
                                   env=env, cwd=REPO_DIR, log_path=log_dir / f"{config.replace(' ', '-')}.log").start()
            if not worker.wait_exit(timeout):
                worker.stop()
                row["error"] = f"worker did not exit within {timeout:.0f} s"
                return row
            elapsed = time.perf_counter() - worker.started_at
            succeeded = runtime.store.job_index_size("success")
            if succeeded != count:
                row["error"] = f"{succeeded}/{count} jobs succeeded"
            else:
                row.update(seconds=round(elapsed, 2), rate=round(count / elapsed))
            used = [after - before for before, after in zip(cpu_before, server_cpu(ports))]
            row.update(redis_cpu=round(sum(used), 2), busiest_cpu=round(max(used), 2))
        finally:
            runtime.close()
            servers.stop()
    return row


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per config: the median run (by drain rate), with the range of rates and the run count."""
    out = []
    for config in dict.fromkeys(r["config"] for r in rows):
        runs = [r for r in rows if r["config"] == config]
        good = sorted((r for r in runs if "rate" in r), key=lambda r: r["rate"])
        if not good:
            out.append(dict(runs[-1], runs=len(runs)))
            continue
        median = dict(good[len(good) // 2])
        mid = len(good) // 2
        median.update(runs=len(runs), failed=len(runs) - len(good), slowest=good[0]["rate"], fastest=good[-1]["rate"],
                      enqueue_rate=sorted(r["enqueue_rate"] for r in good)[mid],
                      redis_cpu=sorted(r["redis_cpu"] for r in good)[mid],
                      busiest_cpu=sorted(r["busiest_cpu"] for r in good)[mid])
        out.append(median)
    return out


def report(rows: list[dict[str, Any]]) -> str:
    rows = summarize(rows)
    base = next((r.get("rate") for r in rows if r["config"] == "cluster 1 shard"), None)
    single = next((r.get("rate") for r in rows if r["config"] == "redis 1 server"), None)
    lines = ["| config | jobs | queues | worker processes | runs | bulk enqueue (jobs/s, median) | "
             "drain rate (jobs/s, median) | slowest - fastest | vs cluster 1 shard | vs redis 1 server | "
             "Redis CPU s, all servers | Redis CPU s, busiest server |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        vs_base = f"{r['rate'] / base:.2f}x" if base and r.get("rate") else "-"
        vs_single = f"{r['rate'] / single:.2f}x" if single and r.get("rate") else "-"
        spread = f"{r['slowest']} - {r['fastest']}" if "slowest" in r else r.get("error", "-")
        if r.get("failed"):
            spread += f" ({r['failed']} failed)"
        lines.append(f"| {r['config']} | {r['count']} | {r['queues']} | {r['processes']} | {r['runs']} | "
                     f"{r.get('enqueue_rate', '-')} | {r.get('rate', '-')} | {spread} | {vs_base} | {vs_single} | "
                     f"{r.get('redis_cpu', '-')} | {r.get('busiest_cpu', '-')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 jobs per config")
    parser.add_argument("--count", type=int, default=None, help="jobs per config (default 100,000)")
    parser.add_argument("--queues", type=int, default=6, help="queues the jobs are spread over (default 6)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--rounds", type=int, default=3, help="runs of each config, taken in turns (default 3)")
    parser.add_argument("--timeout", type=float, default=480.0)
    options = parser.parse_args(argv)
    count = options.count or (2_000 if options.quick else 100_000)
    queues = balanced_queue_names(options.queues)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = RESULTS_DIR / "logs" / f"cluster-{stamp}"
    rows = []
    for _ in range(max(1, options.rounds)):
        for config in options.configs.split(","):
            row = drain(config, count, queues, options.processes, options.timeout, log_dir)
            print(row, flush=True)
            rows.append(row)
    load = os.getloadavg()[0]
    text = (f"# Redis Cluster drain ({count} jobs over {len(queues)} queues, {options.rounds} rounds, "
            f"{time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} cores, load average {load:.1f} at the end)"
            f"\n\n{report(rows)}\n")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"cluster-{stamp}.md").write_text(text)
    default_run = options.count is None and not options.quick and options.configs == ",".join(CONFIGS) \
        and options.rounds >= 3
    if default_run and all("rate" in row for row in rows):
        (RESULTS_DIR / "cluster-latest.md").write_text(text)  # the committed one (quoted in docs/scaling.md)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
