"""Building the package prints no setuptools warnings, and ships the Lua scripts.

The build runs as users run it (``pip wheel``, with build isolation, so the
``[build-system]`` requirements of pyproject.toml are what is tested) on a copy
of the sources, so no ``build/`` folder is left in the tree. It takes a few
seconds. It needs the package index for the build requirements: without it the
test skips (fails in CI), as other missing services do.

``pip install -e .`` additionally prints setuptools' "Editable installation"
notice (an ``InformationOnly`` message every editable install of a project
whose folders map onto other import names gets: here ``compat/`` is ``mrqc``);
it is not a warning about this configuration and no setting removes it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_service

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None  # type: ignore[assignment]

#: what pip prints when the build requirements cannot be fetched (no index, no network)
_NO_INDEX = re.compile(r"No matching distribution found for setuptools|Could not find a version that satisfies"
                       r"|Failed to establish a new connection|Network is unreachable|Temporary failure in name")


def _pyproject() -> dict:
    if tomllib is None:
        pytest.skip("needs tomllib (Python 3.11+) to read pyproject.toml")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        return tomllib.load(fh)


def _package_dirs() -> dict[str, str]:
    """Import name -> folder (pyproject.toml's ``[tool.setuptools.package-dir]``)."""
    return dict(_pyproject()["tool"]["setuptools"]["package-dir"])


def _copy_sources(dest: Path) -> None:
    for name in ("pyproject.toml", _pyproject()["project"]["readme"]):
        shutil.copy(os.path.join(ROOT, name), dest / name)
    for folder in set(_package_dirs().values()):
        shutil.copytree(os.path.join(ROOT, folder), dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def test_wheel_builds_without_warnings_and_ships_lua(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    _copy_sources(source)
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(out)],
                          capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and _NO_INDEX.search(output):
        require_service("package index", "pip could not fetch the build requirements")
    assert proc.returncode == 0, output
    warnings = [line for line in output.splitlines() if "warning" in line.lower()]
    assert warnings == [], output
    [wheel] = list(out.glob("mrqc-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    expected = {f"{package.replace('.', '/')}/{lua.relative_to(Path(ROOT, folder)).as_posix()}"
                for package, folder in _package_dirs().items() for lua in Path(ROOT, folder).rglob("*.lua")}
    assert expected and expected <= set(names), f"Lua scripts not shipped: {sorted(expected - set(names))}"
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
