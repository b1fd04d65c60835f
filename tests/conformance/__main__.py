"""``python -m tests.conformance``: Celery's integration suite on Celery and on mrqc, and the table.

    python -m tests.conformance                    # both sides, the whole scope
    python -m tests.conformance --mrqc-only -k chord
    python -m tests.conformance --report docs/celery-conformance.md

Prints the table (test, Celery outcome, mrqc outcome, reason) and the pass
rates. Exit status: 0, or 1 if ``--min-rate`` is given and not reached.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.conformance", description=__doc__.split("\n")[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--celery-only", action="store_true", help="run only real Celery's side")
    only.add_argument("--mrqc-only", action="store_true", help="run only mrqc's side")
    parser.add_argument("-k", dest="select", help="pytest -k expression selecting tests (both sides)")
    parser.add_argument("tests", nargs="*", help="test files or node ids under t/integration/ (default: "
                        "test_tasks.py and test_canvas.py)")
    parser.add_argument("--serial", action="store_true", help="run one shard at a time")
    parser.add_argument("--jobs", type=int, default=runner.DEFAULT_SHARDS,
                        help=f"shards run at once (default {runner.DEFAULT_SHARDS})")
    parser.add_argument("--shards", type=int, default=runner.DEFAULT_SHARDS,
                        help=f"shards per side (default {runner.DEFAULT_SHARDS})")
    parser.add_argument("--report", type=Path, help="also write the table as Markdown to this file")
    parser.add_argument("--from-run", type=Path, help="do not run: make the table from a finished run's folder "
                        "(.conformance/runs/...), e.g. after editing known_differences.txt")
    parser.add_argument("--seconds", type=float, help="with --from-run: the run time to print")
    parser.add_argument("--min-rate", type=float, help="exit 1 if mrqc passes less than this fraction of "
                        "Celery's passes")
    args = parser.parse_args(argv)
    sides = ["celery"] if args.celery_only else ["mrqc"] if args.mrqc_only else list(runner.SIDES)
    if args.from_run:
        seconds = {side: args.seconds for side in runner.SIDES} if args.seconds else None
        results = runner.load_run(args.from_run, seconds)
    else:
        results = runner.run(select=args.select, sides=sides, serial=args.serial, tests=args.tests,
                             shards=args.shards, jobs=args.jobs)
    print(runner.render_table(results, markdown=False))
    for side, run in results.items():
        print(f"{side}: worst pytest exit {run.returncode}, run time {run.seconds:.0f}s, logs in {run.log.parent}")
    if args.report:
        args.report.write_text(runner.render_report(results))
        print(f"table written to {args.report}")
    s = runner.summary(results)
    if args.min_rate is not None and float(s["rate"]) < args.min_rate:
        print(f"rate {s['rate']:.3f} is below --min-rate {args.min_rate}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
