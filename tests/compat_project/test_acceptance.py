"""Acceptance: the sample Celery project runs on mrqc with only its ``celery`` imports changed.

The project in ``project/`` (package ``shop`` + its own suite ``shop_tests``)
is written for Celery. Each test here copies it to a temporary folder, for
the mrqc variants rewrites ``from celery ...``/``import celery ...`` lines to
``mrqc`` (and checks nothing else changed), starts a real worker process when
the variant needs one, and runs the project's suite in a separate pytest
process. A failure message lists the project's tests that failed.

Variants:

* ``mrqc`` + ``mrqc worker -A shop --scheduler`` (real Redis): the acceptance test;
* ``mrqc`` in eager mode (``SHOP_EAGER=1`` -> ``task_always_eager=True``): the acceptance test;
* real Celery 5 + ``celery -A shop worker -B``, and real Celery in eager mode:
  a peer check that the project's tests themselves are right. They run in
  every suite run (celery is in the test extras); in CI a missing celery fails.

Isolation: every run uses Redis DB 11 and a fresh key prefix (Celery's
``global_keyprefix``, mrqc's ``redis_prefix``); only keys under that prefix
are deleted afterwards.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator

import pytest
import redis as redis_lib

HERE = Path(__file__).resolve().parent
PROJECT = HERE / "project"
ROOT = HERE.parent.parent
BIN = Path(sys.executable).parent
DB = 11

_IMPORT_LINE = re.compile(r"^(\s*)(from|import) celery(?=[.\s])")


def to_mrqc(source: str) -> str:
    """Rewrite only the lines that import from ``celery`` to import from ``mrqc``."""
    return "".join(_IMPORT_LINE.sub(r"\1\2 mrqc", line) for line in source.splitlines(keepends=True))


def copy_project(dest: Path, variant: str) -> Path:
    """Copy the project into ``dest``; for ``mrqc`` rewrite its celery imports (and only them)."""
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "celerybeat-schedule*"))
    if variant == "mrqc":
        for path in dest.rglob("*.py"):
            original = path.read_text()
            rewritten = to_mrqc(original)
            _assert_only_imports_differ(original, rewritten, path)
            path.write_text(rewritten)
    return dest


def _assert_only_imports_differ(original: str, rewritten: str, path: Path) -> None:
    before, after = original.splitlines(), rewritten.splitlines()
    assert len(before) == len(after), path
    for old, new in zip(before, after):
        if old != new:
            assert _IMPORT_LINE.match(old), f"{path}: non-import line changed: {old!r}"
            assert new == _IMPORT_LINE.sub(r"\1\2 mrqc", old), f"{path}: unexpected rewrite {new!r}"


@pytest.fixture
def shop_env(redis_url: str) -> Iterator[dict[str, str]]:
    """Environment of one run: DB 11, a fresh prefix; deletes that prefix's keys afterwards."""
    if not redis_url.startswith("redis://"):
        from tests.conftest import require_service
        require_service("Redis over TCP", "the sample project (and real Celery) need redis://, not the embedded socket")
    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    url = f"{base}/{DB}"
    prefix = f"shop-{uuid.uuid4().hex[:10]}:"
    env = dict(os.environ)
    env.update({
        "SHOP_BROKER_URL": url, "SHOP_KEY_PREFIX": prefix,
        "SHOP_EFFECTS_URL": url, "SHOP_EFFECTS_PREFIX": prefix + "fx:",
        "SHOP_HEARTBEAT_SECONDS": "1",
        # mrqc takes its key prefix from its own config (Celery's global_keyprefix is not read)
        "MRQC_REDIS_PREFIX": prefix,
    })
    env.pop("SHOP_EAGER", None)
    env.pop("SHOP_EXPECT_BEAT", None)
    yield env
    client = redis_lib.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])


class Worker:
    """A worker process serving the copied project (celery or mrqc)."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.log_path = cwd / "worker.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_suite(project: Path, env: dict[str, str], worker: Worker | None = None, suite: str = "shop_tests") -> None:
    """Run the project's own suite; fail listing each failed project test and the worker's log.

    If the worker process exits while the suite runs, the suite is stopped at
    once and the failure shows the worker's log (rather than every test
    timing out on results nobody will produce).
    """
    env = dict(env, PYTHONPATH=os.pathsep.join([str(project), str(ROOT)]))
    report = project / "report.xml"
    output_path = project / "suite.log"
    with open(output_path, "wb") as output:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=120",
                                 f"--junitxml={report}", suite], cwd=project, env=env,
                                stdout=output, stderr=subprocess.STDOUT)
        worker_died = False
        while True:
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if worker is not None and worker.proc.poll() is not None:
                    worker_died = True
                    proc.kill()
                    code = proc.wait()
                    break
    if code == 0 and not worker_died:
        return
    failed = _failed_tests(report)
    message = [f"project suite exited {code}; failed: {', '.join(failed) or '(see output)'}",
               output_path.read_text(errors="replace")[-12000:]]
    if worker_died:
        message.insert(0, f"the worker exited with {worker.proc.returncode} while the suite ran")
    if worker is not None:
        message.append("---- worker log (tail) ----\n" + worker.output())
    pytest.fail("\n".join(message), pytrace=False)


def _failed_tests(report: Path) -> list[str]:
    if not report.exists():
        return []
    out = []
    for case in ET.parse(report).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            out.append(case.get("name", "?"))
    return out


def _run_with_worker(tmp_path: Path, env: dict[str, str], variant: str, worker_args: list[str]) -> None:
    project = copy_project(tmp_path / "project", variant)
    env = dict(env, SHOP_EXPECT_BEAT="1", PYTHONPATH=os.pathsep.join([str(project), str(ROOT)]))
    worker = Worker(worker_args, project, env)
    try:
        run_suite(project, env, worker)
    finally:
        worker.stop()


# --- acceptance: mrqc ----------------------------------------------------------------


def test_mrqc_variant_changes_only_imports(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project", "mrqc")
    changed = 0
    for path in PROJECT.rglob("*.py"):
        original = path.read_text()
        rewritten = (project / path.relative_to(PROJECT)).read_text()
        changed += sum(1 for a, b in zip(original.splitlines(), rewritten.splitlines()) if a != b)
        assert "from celery" not in rewritten and "import celery" not in rewritten.replace("shop.celery", "")
    assert changed >= 8  # every module that imports celery was rewritten


@pytest.mark.timeout(600)
def test_project_on_mrqc_worker(tmp_path: Path, shop_env: dict[str, str]) -> None:
    _run_with_worker(tmp_path, shop_env, "mrqc",
                     [str(BIN / "mrqc"), "worker", "-A", "shop", "--scheduler", "--greenlets", "4"])


@pytest.mark.timeout(600)
def test_project_on_mrqc_eager(tmp_path: Path, shop_env: dict[str, str]) -> None:
    project = copy_project(tmp_path / "project", "mrqc")
    run_suite(project, dict(shop_env, SHOP_EAGER="1"))


# --- peer check: real Celery (optional) -----------------------------------------------

def _require_celery() -> None:
    try:
        import celery  # noqa: F401 - the peer itself, from the test extras
    except ImportError:
        from tests.conftest import require_service
        require_service("celery", "the celery package is not installed (pip install -e '.[test]')")


@pytest.fixture
def real_celery_available() -> None:
    _require_celery()


real_celery = pytest.mark.usefixtures("real_celery_available")


@real_celery
@pytest.mark.timeout(600)
def test_project_on_real_celery_worker(tmp_path: Path, shop_env: dict[str, str]) -> None:
    """Proves the project's tests are right: they pass on Celery itself."""
    _run_with_worker(tmp_path, shop_env, "celery",
                     [str(BIN / "celery"), "-A", "shop", "worker", "-B", "-s", str(tmp_path / "celerybeat-schedule"),
                      "-Q", "default,emails,reports", "--pool=prefork", "--concurrency=2", "--loglevel=INFO",
                      "--without-mingle", "--without-gossip", "--without-heartbeat"])


@real_celery
@pytest.mark.timeout(600)
def test_project_on_real_celery_eager(tmp_path: Path, shop_env: dict[str, str]) -> None:
    """The same suite in Celery's own eager mode."""
    project = copy_project(tmp_path / "project", "celery")
    run_suite(project, dict(shop_env, SHOP_EAGER="1"))


# --- mrqc.contrib.pytest, used the Celery way ---------------------------------------------


@pytest.mark.timeout(300)
def test_pytest_fixtures_suite(tmp_path: Path, redis_url: str) -> None:
    """``fixture_suite/`` is a user's test folder using Celery's fixtures via ``pytest_plugins``.

    It runs in its own pytest process (the plugin is enabled by its root
    conftest, as a user would), with Celery installed too: no clash.
    """
    suite = tmp_path / "fixture_suite"
    shutil.copytree(HERE / "fixture_suite", suite, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, FIXTURE_REDIS_URL=redis_url,
               PYTHONPATH=os.pathsep.join([str(suite), str(ROOT)]))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=60",
                           "test_fixtures.py", "test_trap.py"], cwd=suite, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=280)
    assert proc.returncode == 0, proc.stdout[-8000:]
