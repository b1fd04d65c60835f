"""``mrqc dashboard`` is a core command, and Flask stays out of every other command's process."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_worker_never_imports_flask():
    code = ("import sys\n"
            "from mrqcore import cli\n"
            "cli._register_extensions()\n"
            "import mrqcore.worker, mrqcore.dashboard, mrqcore.dashboard.cli\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug', 'jinja2'))\n"
            "assert not loaded, loaded\n"
            "assert 'dashboard' in cli.cli.commands\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_help_names_the_options():
    proc = subprocess.run([sys.executable, "-m", "mrqcore.cli", "dashboard", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for option in ("--host", "--port", "--auth", "--insecure", "-A", "--redis"):
        assert option in proc.stdout
