"""Running ``mrqc migrate`` as a user does: the installed console script, in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None


def run_migrate(*args: str, cwd: Path, env: dict[str, str] | None = None, report: bool = True) -> Run:
    """``mrqc migrate ARGS`` in ``cwd``; with ``report``, also ``--report`` and its parsed JSON."""
    argv = [str(BIN / "mrqc"), "migrate", *args]
    report_path = cwd.parent / f"{cwd.name}-report.json"
    if report:
        argv += ["--report", str(report_path)]
    proc = subprocess.run(argv, cwd=cwd, env=dict(os.environ, **(env or {})), capture_output=True, text=True,
                          timeout=300)
    data = json.loads(report_path.read_text()) if report and report_path.exists() else None
    if report_path.exists():
        report_path.unlink()
    return Run(proc.returncode, proc.stdout, proc.stderr, data)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> bytes), caches excluded."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")}
