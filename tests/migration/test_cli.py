"""Acceptance 3: --diff changes nothing, --check, idempotence, exit code 2, formatting and comments survive."""
from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path

import pytest

from .helpers import HERE, run_migrate, snapshot


@pytest.fixture
def newsroom(tmp_path: Path) -> Path:
    return Path(shutil.copytree(HERE / "sample_celery", tmp_path / "newsroom",
                                ignore=shutil.ignore_patterns("__pycache__")))


def test_diff_is_the_default_and_changes_no_file(newsroom: Path) -> None:
    before = snapshot(newsroom)
    run = run_migrate(".", cwd=newsroom)
    assert run.code == 0, run.stderr
    assert snapshot(newsroom) == before
    assert "--- a/Procfile\n+++ b/Procfile\n" in run.stdout
    assert "\n-from celery import chain, chord, group, shared_task\n" in run.stdout
    assert "\n+from mrqc import chain, chord, group, shared_task\n" in run.stdout
    assert run.report["mode"] == "diff" and "Procfile" in run.report["files_changed"]
    explicit = run_migrate("--diff", ".", cwd=newsroom)
    assert explicit.stdout == run.stdout and snapshot(newsroom) == before


def test_check_fails_until_written_then_passes(newsroom: Path) -> None:
    before = snapshot(newsroom)
    check = run_migrate("--check", ".", cwd=newsroom)
    assert check.code == 3 and check.stdout == "" and snapshot(newsroom) == before
    assert "files would change" in check.stderr
    assert run_migrate("--write", ".", cwd=newsroom).code == 0
    assert run_migrate("--check", ".", cwd=newsroom).code == 0


def test_write_is_idempotent(newsroom: Path) -> None:
    run_migrate("--write", ".", cwd=newsroom)
    after = snapshot(newsroom)
    again = run_migrate("--write", ".", cwd=newsroom)
    assert again.code == 0 and again.report["changes"] == [] and again.report["files_changed"] == []
    assert snapshot(newsroom) == after
    assert run_migrate(".", cwd=newsroom).stdout == ""  # nothing left to diff


def test_only_the_converted_lines_change(newsroom: Path) -> None:
    """Byte for byte, every line the tool had no reason to touch is as it was."""
    before = snapshot(newsroom)
    run_migrate("--write", ".", cwd=newsroom)
    after = snapshot(newsroom)
    for path in before:
        old, new = before[path].decode().splitlines(True), after[path].decode().splitlines(True)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            for line in old[i1:i2]:
                assert re.search("celery", line, re.I), f"{path}: a line without Celery changed: {line!r}"
            assert i2 - i1 == j2 - j1, f"{path}: lines added or removed around {old[i1:i2]!r}"


def test_formatting_and_comments_survive(tmp_path: Path) -> None:
    source = (
        "# tasks of the shop\n"
        "from celery import (  # the app and friends\n"
        "    Celery,      # aligned comment\n"
        "    shared_task as st,\n"
        ")\n"
        "import celery  # the module too\n"
        "from .celery import app as local_app  # a project-local celery.py: untouched\n"
        "\n"
        "\n"
        "@st( bind = True )   # odd spacing kept\n"
        "def f(self):\n"
        "    celery = 'a local name'  # shadows the module: untouched\n"
        "    return celery.upper()\n"
        "\n"
        "x = celery.group( [ ] )  # uses the module\n"
    )
    (tmp_path / "tasks.py").write_text(source)
    assert run_migrate("--write", "tasks.py", cwd=tmp_path).code == 0
    expected = (source.replace("from celery import (", "from mrqc import (")
                .replace("import celery  # the module too", "import mrqc  # the module too")
                .replace("x = celery.group(", "x = mrqc.group("))
    assert (tmp_path / "tasks.py").read_text() == expected


def test_unparsable_file_exit_2_and_never_half_written(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text("from celery import shared_task\n")
    broken = "from celery import shared_task\n\ndef broken(:\n    pass\n"
    (tmp_path / "broken.py").write_text(broken)
    run = run_migrate("--write", ".", cwd=tmp_path)
    assert run.code == 2, run.stderr
    assert (tmp_path / "broken.py").read_text() == broken  # left whole
    assert (tmp_path / "good.py").read_text() == "from mrqc import shared_task\n"  # the rest is converted
    [error] = run.report["errors"]
    assert error["file"] == "broken.py" and error["line"] == 3 and "syntax error" in error["reason"]
    assert "broken.py:3: [error]" in run.stderr


@pytest.mark.parametrize("args", [["--write", "--check", "."], ["no-such-folder"], ["--from", "rq", "."]])
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    run = run_migrate(*args, cwd=tmp_path, report=False)
    assert run.code == 2
    assert run.stderr.strip()


def test_report_lists_changes_with_file_line_reason_action(newsroom: Path) -> None:
    run = run_migrate(".", cwd=newsroom)
    changes = run.report["changes"]
    procfile = [c for c in changes if c["file"] == "Procfile"]
    assert [c["line"] for c in procfile] == [2, 3]
    assert procfile[0]["reason"] == ("-> mrqc -A newsroom worker --loglevel=INFO --concurrency=3 -Q default,media,digest "
                                     "-B --without-gossip --without-mingle --without-heartbeat")
    assert all(set(c) == {"kind", "file", "line", "construct", "reason", "action"} for c in changes)
    assert run.report["exit_code"] == 0 and run.report["source"] == "auto"
