"""Celery's integration suite, taken from Celery's sdist at run time, and the shim that points it at mrqc.

The sdist of the *installed* celery version is fetched with ``pip download``
(the machine's configured package index) into ``.conformance/`` at the
repository root (gitignored, never committed), and extracted there once.

Only these files of the sdist are used (the issue's scope)::

    t/__init__.py  t/canvas_helpers.py
    t/integration/__init__.py  conftest.py  tasks.py  test_tasks.py  test_canvas.py

``build_tree(side)`` copies them into a run folder. For ``side="mrqc"`` the
shim rewrites only the import lines (nothing else changes; ``rewrite_imports``
checks it)::

    from celery[.x] import ...   ->  from mrqc[.x] import ...
    import celery                ->  import mrqc as celery
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: gitignored cache: the sdist, its extraction, and the run folders
CACHE = ROOT / ".conformance"

SUITE_FILES = (
    "t/__init__.py",
    "t/canvas_helpers.py",
    "t/integration/__init__.py",
    "t/integration/conftest.py",
    "t/integration/tasks.py",
    "t/integration/test_tasks.py",
    "t/integration/test_canvas.py",
)
TEST_FILES = ("t/integration/test_tasks.py", "t/integration/test_canvas.py")

_FROM = re.compile(r"^(\s*)from celery(\.[\w.]+)?(\s+import\s)")
_IMPORT = re.compile(r"^(\s*)import celery\s*$")


def celery_version() -> str:
    """The version of the celery installed next to this interpreter."""
    from importlib.metadata import version
    return version("celery")


def fetch_sdist(version: str | None = None) -> Path:
    """The extracted ``celery-<version>/`` folder, downloading the sdist first if it is not cached."""
    version = version or celery_version()
    folder = CACHE / f"celery-{version}"
    if (folder / "t" / "integration" / "test_canvas.py").exists():
        return folder
    CACHE.mkdir(exist_ok=True)
    archive = CACHE / f"celery-{version}.tar.gz"
    if not archive.exists():
        command = [sys.executable, "-m", "pip", "download", f"celery=={version}", "--no-binary", ":all:",
                   "--no-deps", "--quiet", "-d", str(CACHE)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not archive.exists():
            raise RuntimeError(f"could not download Celery {version}'s sdist with {' '.join(command)}:\n"
                               f"{done.stdout}{done.stderr}\nCheck that pip reaches its package index.")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.split("/", 1)[-1] in SUITE_FILES or m.name.endswith("/pyproject.toml")]
        tar.extractall(CACHE, members=members, filter="data")
    return folder


def rewrite_imports(source: str, path: str = "<source>") -> str:
    """Point ``source``'s celery imports at mrqc; raises if anything but an import line would change."""
    out = []
    for line in source.splitlines(keepends=True):
        new = _FROM.sub(r"\1from mrqc\2\3", line)
        if new == line:
            new = _IMPORT.sub(r"\1import mrqc as celery", line.rstrip("\n")) + ("\n" if line.endswith("\n") else "")
        if new != line and not (_FROM.match(line) or _IMPORT.match(line)):
            raise AssertionError(f"{path}: the shim would change a non-import line: {line!r}")
        out.append(new)
    return "".join(out)


def build_tree(sdist: Path, dest: Path, side: str) -> Path:
    """Copy the suite into ``dest`` (emptied first); ``side="mrqc"`` rewrites the imports."""
    if dest.exists():
        shutil.rmtree(dest)
    for name in SUITE_FILES:
        source = (sdist / name).read_text()
        if side == "mrqc":
            source = rewrite_imports(source, name)
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
    # The run folder is pytest's rootdir: Celery's pytest settings (its pyproject.toml), minus
    # --strict-markers and with the markers its suite uses declared.
    (dest / "pytest.ini").write_text(
        "[pytest]\n"
        "python_classes = test_*\n"
        "xfail_strict = true\n"
        "markers =\n"
        "    flaky: Celery's rerun marker (pytest-rerunfailures is not used: one run per test)\n"
        "    celery: app config overrides\n"
    )
    # The suite's own override file (its conftest reads it from the rootdir), the same on both sides: it blanks
    # the Cassandra backend settings the suite sets for a backend neither side uses. mrqc refuses settings of
    # result backends it does not have (docs/celery-compat.md); Celery ignores them unless that backend is used.
    (dest / "integration-tests-config.json").write_text(json.dumps(
        {name: None for name in ("cassandra_servers", "cassandra_keyspace", "cassandra_table",
                                 "cassandra_read_consistency", "cassandra_write_consistency")}, indent=1) + "\n")
    return dest
