"""Acceptance 2: each construct mrqc cannot take over is left untouched and named with file and line (exit 3).

``sample_unconvertible/`` holds one of each: a custom Request class, bootsteps,
the pickle serializer, remote-control commands mrqc does not serve
(``app.control.pool_restart()``, ``election``), Celery internals (``celery.app.trace``, ``celery.worker.*``),
settings and task options compat refuses, a non-Redis broker, and command lines with no
mrqc equivalent (``--time-limit``, ``flower``, ``control pool_restart``, ``celery multi``).
The same files' convertible lines are converted (the k8s liveness probe
``celery inspect ping`` becomes ``mrqc inspect ping``).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import HERE, run_migrate, snapshot

SAMPLE = HERE / "sample_unconvertible"

#: (file, text on the line, words of the reason) for every construct the tool must leave
#: (the sample's priorities, Task.replace, add_to_chord and celery.contrib.abortable are compat's
#: now, so the tool converts them: the tool asks compat, see migration/targets.py)
EXPECTED = [
    ("proj/celery.py", "from celery import Celery, bootsteps", "bootsteps"),
    ("proj/celery.py", "from celery.app.trace import build_tracer", "Celery internals"),
    ("proj/celery.py", "from celery.worker.request import Request", "Celery internals"),
    ("proj/celery.py", 'app = Celery("proj", broker="amqp://', "mrqc runs on Redis"),
    ("proj/celery.py", 'app.steps["worker"].add(ConnectionStep)', "bootsteps"),
    ("proj/celeryconfig.py", 'task_serializer = "pickle"', "only 'json' is supported"),
    ("proj/celeryconfig.py", 'accept_content = ["pickle"]', "must accept 'json'"),
    ("proj/celeryconfig.py", "worker_autoscaler = ", "greenlets are fixed per worker"),
    ("proj/tasks.py", "@app.task(bind=True, priority=9", "custom Request classes are not supported"),
    ("proj/tasks.py", "return app.control.pool_restart(reload=True)", "app.control.pool_restart() is not served"),
    ("proj/tasks.py", 'app.control.election("id", "topic")', "app.control.election() is not served"),
    ("Procfile", "worker: celery -A proj worker --time-limit", "--time-limit=300 has no mrqc equivalent"),
    ("Procfile", "flower: celery -A proj flower", "Flower has no mrqc command"),
    ("deploy/worker.yaml", '"control", "pool_restart"', "celery control pool_restart is not served by mrqc"),
    ("deploy/celery.service", "ExecStart=/opt/proj/venv/bin/celery multi start", "celery multi"),
    ("deploy/celery.service", "ExecStop=/opt/proj/venv/bin/celery multi stopwait", "celery multi"),
]


def _line_of(root: Path, file: str, text: str) -> int:
    lines = (root / file).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "proj-root", ignore=shutil.ignore_patterns("__pycache__")))


def test_each_construct_is_named_with_file_and_line(project: Path) -> None:
    run = run_migrate("--write", ".", cwd=project)
    assert run.code == 3, run.stderr
    left = run.report["left"]
    for file, text, reason in EXPECTED:
        line = _line_of(SAMPLE, file, text)
        hits = [f for f in left if f["file"] == file and f["line"] == line and reason in f["reason"]]
        assert hits, f"{file}:{line} ({reason!r}) not reported; left: {[(f['file'], f['line'], f['reason']) for f in left]}"
        assert all(f["action"] and f["construct"] for f in hits)
        # the summary on stderr names it too
        assert f"{file}:{line}: [left]" in run.stderr
    assert not run.report["errors"]


def test_constructs_left_are_untouched_and_the_rest_converted(project: Path) -> None:
    run_migrate("--write", ".", cwd=project)
    kept = {"from celery import Celery, bootsteps": "from celery import bootsteps"}  # Celery itself moved on
    for file, text, _ in EXPECTED:
        assert kept.get(text, text) in (project / file).read_text(), f"{file}: {text!r} was changed"
    # what could be converted in the same files was converted
    assert "from mrqc import Celery\nfrom celery import bootsteps\n" in (project / "proj/celery.py").read_text()
    assert "from mrqc import shared_task\n" in (project / "proj/tasks.py").read_text()
    manifest = (project / "deploy/worker.yaml").read_text()
    assert 'command: ["mrqc", "-A", "proj", "worker", "-l", "info", "-c", "4"]' in manifest
    assert 'command: ["mrqc", "-A", "proj", "inspect", "ping", "-d", "celery@$HOSTNAME"]' in manifest
    assert "task_always_eager = False" in (project / "proj/celeryconfig.py").read_text()  # renamed, as upgrade does


def test_a_second_run_reports_the_same_and_changes_nothing(project: Path) -> None:
    first = run_migrate("--write", ".", cwd=project)
    after = snapshot(project)
    second = run_migrate("--write", ".", cwd=project)
    assert second.code == 3 and second.report["files_changed"] == []
    assert snapshot(project) == after
    key = lambda f: (f["file"], f["reason"])  # noqa: E731 - lines below a split import moved by one
    assert sorted(map(key, second.report["left"])) == sorted(map(key, first.report["left"]))
