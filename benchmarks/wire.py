"""The Celery wire benchmark: drain of Celery-published messages, ``mrqc worker --celery-wire`` vs ``celery worker``.

    python -m benchmarks.wire            # 10,000 messages per run, both brokers
    python -m benchmarks.wire --quick    # 500 messages
    python -m benchmarks.wire --brokers redis --count 2000

For each broker (Redis: ``redis://127.0.0.1:6379/14``, ``$BENCH_WIRE_REDIS_BROKER``; RabbitMQ:
``amqp://guest:guest@127.0.0.1:5672//``, ``$BENCH_WIRE_AMQP``) and each worker config, a real Celery
client publishes N messages of a no-op task (protocol 2, JSON) to a fresh queue, then the worker is
started and timed from its start until every result is stored in the Redis result backend (Celery's
``celery-task-meta-<id>`` keys, polled 500 per MGET, oldest first), startup included. Each config
gets a new queue; queues, result keys and mrqc's keys (``bench:wire:``) are deleted after it.
Results: printed as markdown and written to ``benchmarks/results/wire-<time>.md``, and to
``wire-latest.md`` (committed) after a complete run of at least 10,000 messages.
Main virtualenv only (it needs kombu, celery and mrqc in one interpreter); nothing here asserts speed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.procs import WorkerProcess
from benchmarks.settings import KEY_PREFIX, REDIS_URL, REPO_DIR, RESULTS_DIR

BROKERS = {"redis": os.environ.get("BENCH_WIRE_REDIS_BROKER", "redis://127.0.0.1:6379/14"),
           "amqp": os.environ.get("BENCH_WIRE_AMQP", "amqp://guest:guest@127.0.0.1:5672//")}
MRQC_PREFIX = f"{KEY_PREFIX}wire:"

#: config name -> (side, worker arguments)
CONFIGS: dict[str, tuple[str, list[str]]] = {
    "mrqc-wire p0-g100": ("mrqc", ["-m", "mrqcore.cli", "worker", "-A", "benchmarks.peers.wire_app",
                                   "--celery-wire", "--greenlets", "100", "--log-level", "WARNING"]),
    "mrqc-wire p2-g100": ("mrqc", ["-m", "mrqcore.cli", "worker", "-A", "benchmarks.peers.wire_app",
                                   "--celery-wire", "--processes", "2", "--greenlets", "100",
                                   "--log-level", "WARNING"]),
    "celery prefork-c2": ("celery", ["-m", "celery", "-A", "benchmarks.peers.wire_app", "worker", "-P", "prefork",
                                     "-c", "2", "--without-gossip", "--without-mingle", "--without-heartbeat",
                                     "-l", "WARNING"]),
    "celery gevent-c100": ("celery", ["-m", "celery", "-A", "benchmarks.peers.wire_app", "worker", "-P", "gevent",
                                      "-c", "100", "--without-gossip", "--without-mingle", "--without-heartbeat",
                                      "-l", "WARNING"]),
}


def drain(broker_name: str, config: str, count: int, timeout: float, log_dir: Path) -> dict[str, Any]:
    """One timed drain; returns its row."""
    import redis
    from benchmarks.peers.wire_app import make_app
    side, args = CONFIGS[config]
    broker = BROKERS[broker_name]
    queue = f"bench-wire-{uuid.uuid4().hex[:8]}"
    client = make_app("celery", broker, queue)
    results = redis.Redis.from_url(REDIS_URL)
    noop = client.tasks["bench.wire.noop"]
    started = time.perf_counter()
    ids = [noop.apply_async((n,)).id for n in range(count)]
    publish_s = time.perf_counter() - started
    env = dict(os.environ, BENCH_WIRE_SIDE=side, BENCH_WIRE_BROKER=broker, BENCH_WIRE_QUEUE=queue,
               MRQC_REDIS=REDIS_URL, MRQC_REDIS_PREFIX=MRQC_PREFIX,
               PYTHONPATH=os.pathsep.join([str(REPO_DIR), os.environ.get("PYTHONPATH", "")]))
    if side == "celery":
        args = args + ["-Q", queue]
    worker = WorkerProcess([sys.executable, *args], env=env, cwd=REPO_DIR,
                           log_path=log_dir / f"{broker_name}-{config.replace(' ', '-')}.log").start()
    row: dict[str, Any] = {"broker": broker_name, "config": config, "count": count,
                           "publish_rate": round(count / publish_s)}
    try:
        done, deadline = 0, time.monotonic() + timeout
        while done < count:
            if time.monotonic() > deadline or not worker.alive():
                row["error"] = f"{done}/{count} done" + ("" if worker.alive() else " (worker exited)")
                break
            batch = ids[done:done + 500]
            values = results.mget([f"celery-task-meta-{i}" for i in batch])
            ready = next((k for k, v in enumerate(values) if v is None), len(batch))
            done += ready
            if ready < len(batch):
                time.sleep(0.02)
        elapsed = time.perf_counter() - worker.started_at
        if "error" not in row:
            row.update(seconds=round(elapsed, 2), rate=round(count / elapsed))
    finally:
        worker.stop()
        _cleanup(broker, queue, ids, results)
        client.close()
    return row


def _cleanup(broker: str, queue: str, ids: list[str], results: Any) -> None:
    from kombu import Connection
    with Connection(broker) as conn:
        try:
            conn.channel().queue_delete(queue)
        except Exception:
            pass
    for start in range(0, len(ids), 1000):
        results.delete(*[f"celery-task-meta-{i}" for i in ids[start:start + 1000]])
    keys = list(results.scan_iter(match=MRQC_PREFIX + "*", count=1000))
    for start in range(0, len(keys), 500):
        results.delete(*keys[start:start + 500])


def report(rows: list[dict[str, Any]]) -> str:
    lines = ["| broker | worker | messages | drain (s) | drain rate (msg/s) | vs best celery |",
             "|---|---|---|---|---|---|"]
    for broker in sorted({r["broker"] for r in rows}):
        mine = [r for r in rows if r["broker"] == broker]
        best = max((r.get("rate", 0) for r in mine if r["config"].startswith("celery")), default=0)
        for r in mine:
            ratio = f"{r['rate'] / best:.2f}x" if best and r.get("rate") else "-"
            lines.append(f"| {broker} | {r['config']} | {r['count']} | {r.get('seconds', r.get('error'))} | "
                         f"{r.get('rate', '-')} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.wire", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 messages per run")
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--brokers", default="redis,amqp")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--timeout", type=float, default=480.0)
    options = parser.parse_args(argv)
    count = options.count or (500 if options.quick else 10_000)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = RESULTS_DIR / "logs" / f"wire-{stamp}"
    rows = []
    for broker in options.brokers.split(","):
        for config in options.configs.split(","):
            row = drain(broker, config, count, options.timeout, log_dir)
            print(row, flush=True)
            rows.append(row)
    text = (f"# Celery wire drain ({count} messages, {time.strftime('%Y-%m-%d %H:%M')} UTC, "
            f"{os.cpu_count()} cores)\n\n{report(rows)}\n")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"wire-{stamp}.md").write_text(text)
    complete = options.brokers == "redis,amqp" and options.configs == ",".join(CONFIGS)
    if complete and count >= 10_000 and all("rate" in row for row in rows):
        (RESULTS_DIR / "wire-latest.md").write_text(text)  # the committed one (quoted in the docs)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
