"""``python -m benchmarks [--quick] [--peers mrqc,rq,celery:prefork-c2] [--workloads ...]``

Runs each selected system in its own runner subprocess (``benchmarks.runner``) under the benchmark
interpreter (``benchmarks/.venv/bin/python`` when it exists), one system after another, each bounded by
a time limit; then kills anything a runner left, deletes that system's keys, and writes
``results/<mode>-<time>.json`` and ``.md`` (and ``results/latest.md`` after a complete full run).
The markdown is also printed. Exit status 0 means the harness ran, not that mrqc met its targets.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import report, settings
from benchmarks.procs import PIDFILE_ENV, kill_recorded


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    scale = settings.QUICK if args.quick else settings.FULL
    python, note = _interpreter(args.python)
    selection = _selection(args.peers)
    workloads = args.workloads.split(",") if args.workloads else list(settings.WORKLOADS)
    unknown = set(workloads) - set(settings.WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workloads {sorted(unknown)}; choose from {settings.WORKLOADS}")
    out_dir = Path(args.out_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work_dir = out_dir / "logs" / f"{scale.name}-{stamp}"
    work_dir.mkdir(parents=True, exist_ok=True)

    meta = _meta(python, scale, note, selection, workloads)
    importable = _importable(python)
    systems = {}
    for system, configs in selection.items():
        if not importable.get(system, False):
            module = settings.PEER_MODULES[system]
            systems[system] = {"system": system, "error": f"not installed: cannot import {module!r} in {python}",
                               "rows": {}}
            _progress(f"{system}: skipped ({systems[system]['error']})")
            continue
        systems[system] = _run_system(python, system, configs, scale, workloads, args.memory_peers, work_dir)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    doc = report.build(meta, systems)
    text = report.markdown(doc)

    base = out_dir / f"{scale.name}-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str))
    base.with_suffix(".md").write_text(text)
    complete = scale is settings.FULL and not args.peers and not args.workloads
    if complete:
        (out_dir / "latest.md").write_text(text)
    print(text)
    _progress(f"wrote {base}.json and .md" + (" and latest.md" if complete else ""))
    return 0


def _run_system(python: str, system: str, configs: list[str] | None, scale: settings.Scale,
                workloads: list[str], memory_peers: bool, work_dir: Path) -> dict:
    """One runner subprocess; its JSON, or an error document if it produced none."""
    out = work_dir / f"{system}.json"
    pidfile = work_dir / f"{system}.pids"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(settings.REPO_DIR), env.get("PYTHONPATH", "")) if p)
    env[PIDFILE_ENV] = str(pidfile)
    argv = [python, "-m", "benchmarks.runner", "--system", system, "--scale", scale.name,
            "--out", str(out), "--log-dir", str(work_dir), "--workloads", ",".join(workloads)]
    if configs:
        argv += ["--configs", ",".join(configs)]
    if memory_peers:
        argv.append("--memory")
    _progress(f"{system}: running ({scale.name}; limit {scale.system_timeout:.0f} s)")
    started = time.perf_counter()
    runner = subprocess.Popen(argv, cwd=settings.REPO_DIR, env=env, stdin=subprocess.DEVNULL,
                              start_new_session=True)
    error = None
    try:
        runner.wait(timeout=scale.system_timeout)
    except subprocess.TimeoutExpired:
        error = f"runner stopped at its {scale.system_timeout:.0f} s limit; rows after that are missing"
        runner.send_signal(signal.SIGTERM)  # the runner stops its workers on the way out
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
    except BaseException:
        os.killpg(runner.pid, signal.SIGTERM)
        runner.wait(timeout=30)
        raise
    finally:
        leftovers = kill_recorded(pidfile)
        _cleanup(python, system, env, work_dir)
    if leftovers:
        _progress(f"{system}: killed leftover worker process groups {leftovers}")
    if runner.returncode not in (0, None) and error is None:
        error = f"runner exited with status {runner.returncode} (its output is above)"
    try:
        doc = json.loads(out.read_text())
    except (OSError, ValueError):
        doc = {"system": system, "rows": {}}
        error = error or "runner wrote no results"
    if error:
        doc["error"] = error if not doc.get("error") else f"{doc['error']}; {error}"
    status = f" ({doc['error']})" if doc.get("error") else ""
    _progress(f"{system}: done in {time.perf_counter() - started:.0f} s{status}")
    return doc


def _cleanup(python: str, system: str, env: dict, work_dir: Path) -> None:
    """Delete the system's keys even if its runner died before its own cleanup."""
    subprocess.run([python, "-m", "benchmarks.runner", "--system", system, "--cleanup-only",
                    "--out", str(work_dir / f"{system}-cleanup.json")],
                   cwd=settings.REPO_DIR, env=env, stdin=subprocess.DEVNULL, timeout=120, check=False)


def _importable(python: str) -> dict[str, bool]:
    code = ("import importlib.util, json, sys; mods = json.loads(sys.argv[1]); "
            "print(json.dumps({s: importlib.util.find_spec(m) is not None for s, m in mods.items()}))")
    env = dict(os.environ, PYTHONPATH=str(settings.REPO_DIR))
    done = subprocess.run([python, "-c", code, json.dumps(settings.PEER_MODULES)], capture_output=True,
                          text=True, env=env, cwd=settings.REPO_DIR, timeout=60, check=True)
    return json.loads(done.stdout)


def _interpreter(requested: str | None) -> tuple[str, str]:
    if requested:
        return requested, ""
    if settings.BENCH_VENV_PYTHON.exists():
        return str(settings.BENCH_VENV_PYTHON), ""
    return sys.executable, ("benchmarks/.venv is missing (run benchmarks/setup.sh); using the current "
                            "interpreter, so only the peers installed in it run")


def _selection(spec: str) -> dict[str, list[str] | None]:
    """``mrqc,rq,celery:prefork-c2`` -> {"mrqc": None, "rq": None, "celery": ["prefork-c2"]}."""
    if not spec:
        return {s: None for s in settings.SYSTEMS}
    selection: dict[str, list[str] | None] = {}
    for item in spec.split(","):
        system, _, config = item.strip().partition(":")
        if system not in settings.SYSTEMS:
            raise SystemExit(f"unknown system {system!r}; choose from {', '.join(settings.SYSTEMS)}")
        if config:
            selection[system] = [*(selection.get(system) or []), config]
        else:
            selection.setdefault(system, None)
    return selection


def _meta(python: str, scale: settings.Scale, note: str, selection: dict, workloads: list[str]) -> dict:
    meta = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "scale": scale.as_dict(),
        "python": python,
        "python_version": subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                         capture_output=True, text=True, check=False).stdout.strip(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "redis_url": settings.REDIS_URL,
        "redis_version": _redis_version(),
        "selection": {s: c or "default" for s, c in selection.items()},
        "workloads": workloads,
        "io_sleep": settings.IO_SLEEP,
    }
    if note:
        meta["note"] = note
    return meta


def _redis_version() -> str:
    try:
        done = subprocess.run(["redis-cli", "-u", settings.REDIS_URL, "info", "server"], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    for line in done.stdout.splitlines():
        if line.startswith("redis_version:"):
            return line.split(":", 1)[1].strip()
    return "?"


def _progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: small counts, each system's recommended configuration only")
    parser.add_argument("--peers", default="",
                        help="systems to run, e.g. 'mrqc,rq' or 'mrqc,celery:prefork-c2' (default: all)")
    parser.add_argument("--workloads", default="", help=f"comma-separated subset of {','.join(settings.WORKLOADS)}")
    parser.add_argument("--python", default=None, help="interpreter with the peers installed "
                        "(default: benchmarks/.venv/bin/python if present, else this one)")
    parser.add_argument("--memory-peers", action="store_true", help="run the memory workload for the peers too")
    parser.add_argument("--out-dir", default=str(settings.RESULTS_DIR), help="where results go")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
