"""A Celery app owns its runtime: ``.delay()`` and ``queue_job`` reach the app's broker in either call order,
and ``mrqc ... -A proj`` commands use the app's broker.

Each scenario runs in a subprocess with no ``MRQC_*`` variables and a fresh working directory, so the
process default really is the embedded Redis (in ``.mrqc/``): a call that went there instead of the app's
broker would leave its job out of the Redis the test reads, and create ``.mrqc/``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from tests.conftest import ROOT, require_service, wait_for

APP_MODULE = '''
import os
from mrqc import Celery

app = Celery("rtproj", broker=os.environ["RT_BROKER"],
             broker_transport_options={"global_keyprefix": os.environ["RT_PREFIX"]})
app.conf.task_default_queue = "rtq"


@app.task
def add(x, y):
    return x + y


@app.task
def runtime_is_the_workers():
    from mrqcore.context import get_current_worker
    return app.runtime is get_current_worker().runtime
'''


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRQC_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), ROOT])
    env.update(extra)
    return env


@pytest.fixture
def project(tmp_path: Path, redis_url: str, prefix: str) -> dict[str, Any]:
    """An app module ``rtproj`` in tmp_path whose broker is the test Redis, with this test's key prefix."""
    if not redis_url.startswith("redis"):
        require_service("Redis over TCP", "the app's broker must differ from the embedded default")
    (tmp_path / "rtproj.py").write_text(APP_MODULE)
    env = _clean_env(tmp_path, RT_BROKER=redis_url, RT_PREFIX=prefix)
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    return {"dir": tmp_path, "env": env, "redis": client, "prefix": prefix}


def _python(project: dict[str, Any], code: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=project["dir"], env=project["env"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mrqc(project: dict[str, Any], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrqcore.cli", *args], cwd=project["dir"],
                          env=env or project["env"], capture_output=True, text=True, timeout=60)


def _record(project: dict[str, Any], job_id: str) -> dict[str, str]:
    return project["redis"].hgetall(f"{project['prefix']}job:{job_id}")


QUEUE_JOB_FIRST = '''
    import json
    import rtproj
    from mrqcore import runtime as rt
    from mrqcore.job import Job, queue_job
    core = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 2})
    by_name = queue_job("rtproj.add", {"args": [3, 4]})
    celery = rtproj.add.delay(1, 2).id
    print(json.dumps({"core": core, "by_name": by_name, "celery": celery,
                      "same": rtproj.app.runtime is rt.get_runtime(), "default_built": rt._default is not None,
                      "fetched": Job(core).fetch().path}))
'''

DELAY_FIRST = '''
    import json
    import rtproj
    from mrqcore import runtime as rt
    from mrqcore.job import Job, queue_job
    celery = rtproj.add.delay(1, 2).id
    core = queue_job("tests.tasks.basic.Add", {"a": 1, "b": 2})
    by_name = queue_job("rtproj.add", {"args": [3, 4]})
    print(json.dumps({"core": core, "by_name": by_name, "celery": celery,
                      "same": rtproj.app.runtime is rt.get_runtime(), "default_built": rt._default is not None,
                      "fetched": Job(core).fetch().path}))
'''


@pytest.mark.parametrize("script", [QUEUE_JOB_FIRST, DELAY_FIRST], ids=["queue_job-first", "delay-first"])
def test_queue_job_and_delay_reach_the_apps_broker_in_either_order(project, script):
    seen = _python(project, script)
    assert seen["same"] and not seen["default_built"]
    assert seen["fetched"] == "tests.tasks.basic.Add"
    core, by_name, celery = (_record(project, seen[k]) for k in ("core", "by_name", "celery"))
    assert core["path"] == "tests.tasks.basic.Add" and core["status"] == "queued"
    assert by_name["path"] == "rtproj.add" and by_name["queue"] == "rtq"  # the app's task, found by name
    assert celery["path"] == "rtproj.add" and celery["queue"] == "rtq"
    assert not (project["dir"] / ".mrqc").exists()  # the embedded default was never started


def test_explicit_runtime_wins_over_the_apps(project, redis_url):
    other_prefix = project["prefix"] + "explicit:"
    seen = _python(project, f'''
        import json
        import rtproj
        import mrqcore
        from mrqcore.job import queue_job
        explicit = mrqcore.configure(redis={redis_url!r}, redis_prefix={other_prefix!r})
        core = queue_job("tests.tasks.basic.Add", {{"a": 1, "b": 2}})
        celery = rtproj.add.delay(1, 2).id
        print(json.dumps({{"core": core, "celery": celery, "app_own": rtproj.app.runtime is not explicit}}))
    ''')
    assert seen["app_own"]
    assert project["redis"].exists(f"{other_prefix}job:{seen['core']}")  # rule 1: the explicit runtime
    assert _record(project, seen["celery"])["queue"] == "rtq"  # the app's calls: always the app's runtime


def test_worker_runtime_is_the_apps_runtime(project):
    seen = _python(project, '''
        import json
        from mrqcore.cli import app_runtime
        from mrqcore.runtime import get_runtime
        runtime, app = app_runtime("rtproj", None, {})
        print(json.dumps({"same": app.runtime is runtime is get_runtime(),
                          "prefix": runtime.config.redis_prefix, "redis": runtime.config.redis}))
    ''')
    assert seen["same"]
    assert seen["prefix"] == project["prefix"] and seen["redis"] == project["env"]["RT_BROKER"]


def test_cli_commands_use_the_apps_broker(project):
    out = _mrqc(project, "run", "-A", "rtproj", "--queue", "rtq", "rtproj.add", '{"args": [2, 3]}')
    assert out.returncode == 0, out.stderr
    job_id = out.stdout.strip()
    assert _record(project, job_id)["queue"] == "rtq"
    out = _mrqc(project, "run", "-A", "rtproj", "--queue", "other", "rtproj.runtime_is_the_workers")
    assert out.returncode == 0, out.stderr
    same_id = out.stdout.strip()

    out = _mrqc(project, "jobs", "-A", "rtproj", "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(j["id"] for j in json.loads(out.stdout)) == sorted([job_id, same_id])
    out = _mrqc(project, "queues", "-A", "rtproj", "--json")
    assert out.returncode == 0, out.stderr
    assert {q["name"]: q["size"] for q in json.loads(out.stdout)} == {"rtq": 1, "other": 1}

    worker = subprocess.Popen([sys.executable, "-m", "mrqcore.cli", "worker", "-A", "rtproj", "rtq", "other"],
                              cwd=project["dir"], env=project["env"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    try:
        def listed() -> Any:
            out = _mrqc(project, "workers", "-A", "rtproj", "--json")
            return out.returncode == 0 and [w for w in json.loads(out.stdout) if w["alive"]]
        wait_for(listed, timeout=30, message="the worker in `mrqc workers -A rtproj`")
        wait_for(lambda: all(_record(project, i).get("status") == "success" for i in (job_id, same_id)),
                 timeout=30, message="the jobs run by `mrqc worker -A rtproj`")
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    out = _mrqc(project, "result", job_id, "-A", "rtproj", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["state"] == "SUCCESS" and json.loads(out.stdout)["result"] == 5
    # Without -A: the configured app ($MRQC_APP) decides the broker.
    out = _mrqc(project, "result", job_id, "--json", env=dict(project["env"], MRQC_APP="rtproj"))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"] == 5
    # Inside `mrqc worker -A rtproj`, the app's runtime is the worker's (one object).
    out = _mrqc(project, "result", same_id, "-A", "rtproj", "--json")
    assert json.loads(out.stdout)["result"] is True
    assert not (project["dir"] / ".mrqc").exists()
