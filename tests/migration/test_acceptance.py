"""Acceptance 1: a realistic Celery project converts with ``mrqc migrate --write`` and no hand edits.

``sample_celery/`` is the newsroom project: several task modules, a
Django-style settings module (``CELERY_*`` names read with
``namespace="CELERY"``), a chain, a group, a chord, retries, a soft time
limit, a class-based task, signals, a beat schedule (timedelta and crontab),
a suite that uses ``celery.contrib.pytest`` fixtures, a Procfile, a
Dockerfile, a start script and a health check (``celery inspect ping``).

1. The project's suite runs on real Celery: a ``celery worker -B`` subprocess
   started from the Procfile's ``worker:`` line, on Redis (every run, so the
   suite is known to be right).
2. A copy is converted by ``mrqc migrate --write`` (the console script), with
   exit code 0 and no hand edits; a second run changes nothing and
   ``--check`` passes.
3. The same suite runs on a real ``mrqc worker -A`` subprocess started from
   the converted Procfile's ``worker:`` line.

After each suite run, the health check script (converted: ``mrqc inspect
ping``) is run against the worker still serving, and must see it.

The suite runner and worker process helpers are tests/compat_project's.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import redis as redis_lib

from tests.compat_project.test_acceptance import ROOT, Worker, run_suite

from .helpers import HERE, run_migrate, snapshot

SAMPLE = HERE / "sample_celery"
DB = 12


@pytest.fixture
def newsroom_env(redis_url: str) -> Iterator[dict[str, str]]:
    """Environment of one run: Redis DB 12, a fresh key prefix; deletes that prefix's keys afterwards."""
    if not redis_url.startswith("redis://"):
        from tests.conftest import require_service
        require_service("Redis over TCP", "real Celery needs redis://, not the embedded socket")
    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    url = f"{base}/{DB}"
    prefix = f"newsroom-{uuid.uuid4().hex[:10]}:"
    env = dict(os.environ, NEWSROOM_BROKER_URL=url, NEWSROOM_KEY_PREFIX=prefix,
               NEWSROOM_EFFECTS_PREFIX=prefix + "fx:", NEWSROOM_HEARTBEAT_SECONDS="1",
               MRQC_REDIS_PREFIX=prefix)
    yield env
    client = redis_lib.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])


def copy_sample(dest: Path) -> Path:
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "celerybeat-schedule*"))
    return dest


def procfile_command(project: Path, process: str) -> list[str]:
    """The command of one Procfile process, with its program resolved in this virtualenv."""
    for line in (project / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            argv = shlex.split(command)
            program = Path(os.sys.executable).parent / argv[0]
            return [str(program), *argv[1:]]
    raise AssertionError(f"no {process!r} process in the Procfile")


def run_project(project: Path, env: dict[str, str]) -> None:
    env = dict(env, PYTHONPATH=os.pathsep.join([str(project), str(ROOT)]))
    worker = Worker(procfile_command(project, "worker"), project, env)
    try:
        run_suite(project, env, worker, suite="newsroom_tests")
        health_check(project, env, worker)
    finally:
        worker.stop()


def health_check(project: Path, env: dict[str, str], worker: Worker) -> None:
    """``scripts/healthcheck.sh`` (a remote-control ping) answers for the running worker: exit 0, one node."""
    path = os.pathsep.join([str(Path(os.sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run(["sh", str(project / "scripts/healthcheck.sh")], cwd=project, env=dict(env, PATH=path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr + worker.output()
    assert ": OK" in proc.stdout and proc.stdout.rstrip().endswith("1 node online."), proc.stdout


@pytest.mark.timeout(600)
def test_sample_project_on_real_celery(tmp_path: Path, newsroom_env: dict[str, str]) -> None:
    """The suite is right: it passes on Celery itself, with the worker the Procfile starts."""
    import celery  # noqa: F401 - real Celery, in the test extra
    project = copy_sample(tmp_path / "newsroom")
    assert procfile_command(project, "worker")[0].endswith("/celery")
    run_project(project, newsroom_env)


@pytest.mark.timeout(600)
def test_sample_project_converts_and_passes_on_mrqc(tmp_path: Path, newsroom_env: dict[str, str]) -> None:
    project = copy_sample(tmp_path / "newsroom")
    before = snapshot(project)

    run = run_migrate("--write", ".", cwd=project)
    assert run.code == 0, run.stderr
    assert run.report is not None and run.report["left"] == [] and run.report["errors"] == []
    changed = set(run.report["files_changed"])
    assert {"Procfile", "Dockerfile", "scripts/start-worker.sh", "scripts/healthcheck.sh", "conftest.py",
            "newsroom/celery.py",
            "newsroom/settings.py", "newsroom/signals.py", "newsroom/tasks/articles.py", "newsroom/tasks/media.py",
            "newsroom/tasks/digest.py", "newsroom_tests/test_newsroom.py"} <= changed
    after = snapshot(project)
    assert set(after) == set(before)  # no file created or removed
    for path, content in after.items():
        text = content.decode()
        assert "from celery" not in text and "import celery" not in text, path
        if not path.endswith(".py"):  # (docstrings may still tell the story in words)
            assert "celery -A" not in text and '"celery"' not in text, path
    assert os.access(project / "scripts/start-worker.sh", os.X_OK)  # the mode survives

    # what the tool wrote, in the files a reviewer would look at
    assert "worker: mrqc -A newsroom worker --loglevel=INFO --concurrency=3 -Q default,media,digest -B " \
        "--without-gossip --without-mingle --without-heartbeat" \
        in (project / "Procfile").read_text()
    assert 'CMD ["mrqc", "-A", "newsroom", "worker", "--loglevel=INFO", "-Q", "default,media,digest"]' \
        in (project / "Dockerfile").read_text()
    assert 'exec mrqc -A newsroom worker -l info -c "${CONCURRENCY:-4}" -Q default,media,digest' \
        in (project / "scripts/start-worker.sh").read_text()
    assert "exec mrqc -A newsroom inspect ping --timeout 5" in (project / "scripts/healthcheck.sh").read_text()
    media = (project / "newsroom/tasks/media.py").read_text()
    assert "import mrqc\nimport mrqc.exceptions\n" in media and "@mrqc.shared_task(bind=True)" in media
    assert "except mrqc.exceptions.SoftTimeLimitExceeded:" in media and "class WatermarkTask(mrqc.Task):" in media
    assert 'pytest_plugins = ("mrqc.contrib.pytest",)' in (project / "conftest.py").read_text()

    # idempotent, and --check is green
    second = run_migrate("--write", ".", cwd=project)
    assert second.code == 0 and second.report["files_changed"] == [] and second.report["changes"] == []
    assert snapshot(project) == after
    assert run_migrate("--check", ".", cwd=project, report=False).code == 0

    run_project(project, newsroom_env)
