"""One system's side of a run, in its own process under the benchmark interpreter.

    python -m benchmarks.runner --system celery --scale quick --out FILE [--configs a,b]
                                [--workloads enqueue,drain,...] [--memory] [--cleanup-only]

Runs the workloads for each selected worker configuration, one after another, and rewrites ``FILE``
(JSON) after every phase, so that a runner stopped on its time limit still leaves what it measured.
Deletes this system's keys before and after. Started by ``benchmarks.__main__``; not a public CLI.
"""
from __future__ import annotations

import argparse
import json
import platform
import signal
import sys
import time
import traceback
from pathlib import Path

from benchmarks import workloads
from benchmarks.settings import SCALES, WORKLOADS


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # SIGTERM from the orchestrator unwinds through the finally blocks that stop workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = Path(args.out)
    doc: dict = {"system": args.system, "python": platform.python_version(), "configs": [], "rows": {}}
    try:
        from benchmarks.peers import load

        peer = load(args.system)
    except Exception as exc:  # the library (or mrqc itself) is missing or broken: report, don't crash
        doc["error"] = f"{type(exc).__name__}: {exc}"
        doc["traceback"] = traceback.format_exc(limit=6)
        _write(out, doc)
        return 0
    if args.cleanup_only:
        peer.purge()
        return 0
    run(peer, args, doc, out)
    return 0


def run(peer, args: argparse.Namespace, doc: dict, out: Path) -> None:
    scale = SCALES[args.scale]
    log_dir = Path(args.log_dir)
    selected = set(args.workloads.split(",")) if args.workloads else set(WORKLOADS)
    configs = peer.configs()
    if args.configs:
        wanted = args.configs.split(",")
        configs = [c for c in configs if c.name in wanted]
    elif scale.first_config_only:
        configs = configs[:1]
    doc.update(version=_version(peer), single_api=peer.single_api, bulk_api=peer.bulk_api,
               configs=[{"name": c.name, "describe": c.describe, "concurrency": c.concurrency,
                         "command": _command(peer, c),
                         "drain_uses_burst": peer.has_burst} for c in configs])

    def add(workload: str, rows: dict | list[dict]) -> None:
        doc["rows"].setdefault(workload, []).extend(rows if isinstance(rows, list) else [rows])
        _write(out, doc)

    _write(out, doc)
    peer.purge()
    try:
        if "enqueue" in selected:
            add("enqueue", workloads.enqueue_rows(peer, scale))
        for index, config in enumerate(configs):
            try:
                run_config(peer, config, index == 0, args, scale, selected, log_dir, add)
            except Exception as exc:  # e.g. a worker that cannot start: the next config still runs
                doc.setdefault("config_errors", []).append(
                    {"config": config.name, "error": f"{type(exc).__name__}: {exc}",
                     "traceback": traceback.format_exc(limit=6)})
                _write(out, doc)
    finally:
        peer.purge()
        doc["finished"] = time.time()
        _write(out, doc)


def run_config(peer, config, first: bool, args: argparse.Namespace, scale, selected: set[str],
               log_dir: Path, add) -> None:
    """The per-configuration workloads; memory and raw run for the first (recommended) one only."""
    peer.use_config(config)
    if "drain" in selected:
        add("drain", workloads.drain_row(peer, config, scale, log_dir))
    if selected & {"latency", "io"}:
        with workloads.warm_worker(peer, config, log_dir) as worker:
            if "latency" in selected:
                add("latency", workloads.latency_row(peer, config, scale, worker))
            if "io" in selected:
                add("io", workloads.io_row(peer, config, scale, worker))
    if "memory" in selected and (args.memory or peer.system == "mrqc") and first:
        add("memory", workloads.memory_row(peer, config, scale, log_dir))
    if "raw" in selected and peer.system == "mrqc" and first:
        add("raw", workloads.raw_row(peer, config, scale, log_dir))


def _version(peer) -> str:
    try:
        return peer.version()
    except Exception as exc:
        return f"unknown ({exc})"


def _command(peer, config) -> str:
    """The worker's command line as a reader would type it: its own variables, then the command
    with console scripts and python by name (``MRQC_*`` variables are described in the README)."""
    argv = peer.worker_argv(config, False)
    head = Path(argv[0]).name
    if head.startswith("python"):
        head = "python"
    env = [f"{k}={v}" for k, v in peer.worker_env(config).items() if k.startswith("BENCH_")]
    return " ".join([*env, head, *argv[1:]])


def _write(out: Path, doc: dict) -> None:
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=str))
    tmp.replace(out)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runner")
    parser.add_argument("--system", required=True)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--configs", default="", help="comma-separated config names (default: per scale)")
    parser.add_argument("--workloads", default="", help="comma-separated workloads (default: all)")
    parser.add_argument("--memory", action="store_true", help="run the memory workload for a peer too")
    parser.add_argument("--out", required=True)
    parser.add_argument("--log-dir", default=str(Path(__file__).parent / "results" / "logs"))
    parser.add_argument("--cleanup-only", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
