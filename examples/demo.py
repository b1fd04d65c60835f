"""The demo: queue real jobs, run a real worker on them, print what happened.

With no Redis configured it uses the embedded Redis in ./.mrqc (MRQC_REDIS
points it at a server instead).
"""
from __future__ import annotations

import collections
import subprocess
import sys
import time

from mrqcore.job import Job, queue_job, queue_jobs


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    started = time.time()
    ids = queue_jobs("examples.demo_tasks.Square", [{"n": n} for n in range(count)], queue="demo")
    flaky = queue_job("examples.demo_tasks.Flaky", {}, queue="demo")
    print(f"queued {count + 1} jobs in {time.time() - started:.2f}s; starting a worker (50 greenlets, burst)")
    worker = subprocess.run([sys.executable, "-m", "mrqcore.cli", "worker", "demo", "--greenlets", "50",
                             "--burst", "--log-level", "WARNING"])
    if worker.returncode != 0:
        print(f"worker exited with {worker.returncode}")
        return 1
    statuses = collections.Counter(Job(i).fetch(("status",)).status for i in ids)
    results_ok = all(Job(i).fetch(("result",)).result == n * n for n, i in enumerate(ids))
    flaky_job = Job(flaky).fetch()
    print(f"statuses: {dict(statuses)}; every result correct: {results_ok}")
    print(f"flaky job: status={flaky_job.status} retry_count={flaky_job.retry_count} result={flaky_job.result!r}")
    print(f"done in {time.time() - started:.2f}s")
    return 0 if results_ok and statuses == {"success": count} and flaky_job.status == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
