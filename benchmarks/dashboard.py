"""``python -m benchmarks.dashboard [--jobs 1000000] [--redis URL]``: the dashboard's API with many jobs stored.

Fills a store with ``--jobs`` job records the way workers leave them (queued through
``enqueue``, then taken by ``dequeue`` and ended by ``finish``: ~90% done, 2% of those
failed, over 4 queues and 5 tasks, the rest still queued), then times the dashboard's JSON
routes through the Flask app (``create_app(...).test_client()``: routing, the store
calls and JSON encoding; no network), each ``--repeat`` times, and prints a table with
median, p95 and max against the 200 ms target of the jobs list.

By default it starts its own throw-away ``redis-server`` (no persistence) on a free port,
so a million records never land in a shared server; ``--redis URL`` uses that server
instead, under a fresh prefix that it deletes afterwards. This asserts nothing: it is a
measurement (the test suite has no timing assertions).
"""
from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Callable

TARGET_MS = 200.0
QUEUES = ("default", "mail", "reports", "crawl")
PATHS = ("app.tasks.send_mail", "app.tasks.render_report", "app.tasks.crawl_page", "app.tasks.resize_image",
         "app.tasks.sync_account")
EXCEPTIONS = ("ValueError", "TimeoutError", "KeyError")
BATCH = 5000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000, help="job records to store (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per route (default 30)")
    parser.add_argument("--redis", default=None, help="use this Redis (default: start a throw-away redis-server)")
    args = parser.parse_args(argv)
    server = None
    url = args.redis
    if url is None:
        server, url = _start_redis()
    prefix = f"bench-dash-{uuid.uuid4().hex[:8]}:"
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime, set_runtime
    runtime = Runtime(Config({"redis": url, "redis_prefix": prefix}))
    set_runtime(runtime)
    try:
        started = time.perf_counter()
        sample = _fill(runtime, args.jobs)
        print(f"stored {args.jobs:,} jobs in {time.perf_counter() - started:.1f}s "
              f"(Redis used_memory: {runtime.store.client.info('memory')['used_memory_human']})", flush=True)
        rows = _measure(runtime, sample, args.repeat)
        print(_table(args.jobs, rows))
    finally:
        if args.redis:
            runtime.store.clear()
        runtime.close()
        if server is not None:
            server.terminate()
            server.wait(10)
            shutil.rmtree(server.directory, ignore_errors=True)  # type: ignore[attr-defined]
    return 0


def _fill(runtime: Any, total: int) -> dict[str, str]:
    """Store ``total`` jobs; returns a few ids to look up."""
    from mrqcore.store.base import Finish, JobSpec
    store = runtime.store
    sample: dict[str, str] = {}
    queued = 0
    while queued < total:
        n = min(BATCH, total - queued)
        specs = []
        for i in range(queued, queued + n):
            job_id = str(uuid.uuid4())
            specs.append(JobSpec(job_id, QUEUES[i % len(QUEUES)],
                                 {"path": PATHS[i % len(PATHS)], "params": f'{{"user": {i}, "page": "p{i}"}}'}))
        store.enqueue(specs, time.time())
        queued += n
    sample["any"] = specs[-1].id
    to_finish = int(total * 0.9)
    finished = 0
    while finished < to_finish:
        taken = store.dequeue("bench-worker", list(QUEUES), min(BATCH, to_finish - finished), time.time())
        if not taken:
            break
        finishes = []
        now = time.time()
        for k, (job_id, _record) in enumerate(taken):
            n = finished + k
            if int(job_id[:6], 16) % 50 == 0:  # 2%, spread over tasks and queues
                fields = {"status": "failed", "exceptiontype": EXCEPTIONS[n % len(EXCEPTIONS)],
                          "traceback": "Traceback (most recent call last):\nValueError: boom",
                          "datedone": repr(now), "dateupdated": repr(now)}
                finishes.append(Finish(job_id, "failed", fields))
                sample["failed"] = job_id
            else:
                finishes.append(Finish(job_id, "success", {"status": "success", "result": "1",
                                                            "datedone": repr(now), "dateupdated": repr(now)}))
        store.finish("bench-worker", finishes)
        finished += len(taken)
    return sample


def _measure(runtime: Any, sample: dict[str, str], repeat: int) -> list[tuple[str, str, list[float]]]:
    from mrqcore.dashboard import create_app
    client = create_app(runtime).test_client()
    cases = [
        ("jobs list, newest first", "/api/jobs"),
        ("jobs list, status=failed", "/api/jobs?status=failed"),
        ("jobs list, failed + task", f"/api/jobs?status=failed&path={PATHS[1]}"),
        ("jobs list, failed + exception glob", "/api/jobs?status=failed&exceptiontype=Time*"),
        ("jobs list, queue=mail (unindexed filter)", "/api/jobs?queue=mail"),
        ("jobs list, page at position 500,000", "/api/jobs?cursor=500000"),
        ("jobs list, one id", f"/api/jobs?id={sample['failed']}"),
        ("jobs list, no match (scan budget spent)", "/api/jobs?status=success&exceptiontype=Nothing"),
        ("job page", f"/api/jobs/{sample['failed']}"),
        ("overview", "/api/overview"),
        ("failures", "/api/failures"),
        ("queues", "/api/queues"),
    ]
    rows = []
    for name, path in cases:
        timings = [_time(lambda: _get(client, path)) for _ in range(repeat)]
        rows.append((name, path, timings))
        print(f"  {name}: median {statistics.median(timings):.1f} ms", flush=True)
    return rows


def _get(client: Any, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.get_data(as_text=True)[:200]}")


def _time(call: Callable[[], None]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _table(total: int, rows: list[tuple[str, str, list[float]]]) -> str:
    lines = [f"\n## Dashboard API with {total:,} stored jobs\n",
             "| route | request | median ms | p95 ms | max ms | jobs-list target (200 ms) |",
             "|---|---|---:|---:|---:|---|"]
    for name, path, timings in rows:
        ordered = sorted(timings)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        verdict = ("PASS" if p95 <= TARGET_MS else "MISS") if path.startswith("/api/jobs?") or path == "/api/jobs" else ""
        lines.append(f"| {name} | `{path}` | {statistics.median(timings):.1f} | {p95:.1f} | {ordered[-1]:.1f} | {verdict} |")
    return "\n".join(lines)


def _start_redis() -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH; give --redis URL")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    directory = tempfile.mkdtemp(prefix="bench-dash-redis-")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.directory = directory  # type: ignore[attr-defined]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"redis-server did not start on port {port}")


if __name__ == "__main__":
    sys.exit(main())
