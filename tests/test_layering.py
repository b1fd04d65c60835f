"""mrqcore knows nothing of the Celery layer: no import of ``mrqc``; its commands arrive by entry point."""
from __future__ import annotations

import importlib.metadata
import pkgutil
import subprocess
import sys

import mrqcore
from tests.conftest import ROOT

SCRIPT = """
import importlib, pkgutil, sys
import mrqcore
for info in pkgutil.walk_packages(mrqcore.__path__, "mrqcore."):
    importlib.import_module(info.name)
loaded = sorted(m for m in sys.modules if m == "mrqc" or m.startswith("mrqc."))
print(",".join(loaded))
"""


def test_importing_every_mrqcore_module_loads_no_mrqc_module():
    modules = [info.name for info in pkgutil.walk_packages(mrqcore.__path__, "mrqcore.")]
    assert "mrqcore.cli" in modules and "mrqcore.runtime" in modules
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_celery_commands_come_from_the_mrqc_cli_entry_points():
    entries = {e.name: e.value for e in importlib.metadata.entry_points(group="mrqc.cli")}
    assert entries["celery"] == "mrqc.cli_commands:register" and entries["beat"] == "mrqc.beat:register"
    out = subprocess.run([sys.executable, "-m", "mrqcore.cli", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0] for line in out.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert {"result", "revoke", "beat", "worker", "jobs", "scheduler"} <= listed
