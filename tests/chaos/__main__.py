"""``python -m tests.chaos [--jobs N --workers 3 ...]``: run the chaos scenario and print its figures."""
from __future__ import annotations

import argparse
import sys

from .run import ChaosOptions, run_chaos


def main(argv: list[str] | None = None) -> int:
    defaults = ChaosOptions()
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--jobs", type=int, default=defaults.jobs, help="jobs to queue")
    parser.add_argument("--workers", type=int, default=defaults.workers, help="worker processes at a time")
    parser.add_argument("--greenlets", type=int, default=defaults.greenlets, help="greenlets per worker")
    parser.add_argument("--job-sleep", type=float, default=defaults.job_sleep, help="seconds each job sleeps")
    parser.add_argument("--kill-every", type=float, default=defaults.kill_every,
                        help="seconds between SIGKILLs of a random worker")
    parser.add_argument("--min-kills", type=int, default=defaults.min_kills,
                        help="SIGKILLs the run makes however fast it goes")
    parser.add_argument("--sigterms", type=int, default=defaults.sigterms, help="workers stopped with SIGTERM")
    parser.add_argument("--redis-restarts", type=int, default=defaults.redis_restarts, help="Redis restarts")
    parser.add_argument("--lost-after", type=float, default=defaults.lost_after,
                        help="workers' worker_lost_after setting (seconds)")
    parser.add_argument("--timeout", type=float, default=defaults.timeout,
                        help="give up (jobs left are lost) after this many seconds")
    parser.add_argument("--seed", type=int, default=None, help="random seed (which worker is killed)")
    parser.add_argument("--keep-dir", action="store_true", help="keep Redis files and worker logs")
    args = parser.parse_args(argv)
    options = ChaosOptions(**{k: v for k, v in vars(args).items()})
    report = run_chaos(options)
    for line in report.lines():
        print(line)
    if not report.ok:
        print(f"worker logs and Redis files kept in {report.directory}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
