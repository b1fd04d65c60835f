"""``mrqc worker -A``: finding the app like ``celery -A`` does."""
from __future__ import annotations

import sys

from mrqcore.cli import load_app


def test_load_app_finds_the_app_in_package_celery_module(tmp_path, monkeypatch):
    package = tmp_path / "cliproj"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "celery.py").write_text(
        "from mrqc import Celery\n"
        "app = Celery('cliproj', set_as_current=False)\n"
        "app.conf.task_default_queue = 'cliq'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        options = load_app("cliproj")
        assert options["queues"] == ["cliq"] and options["default_queue"] == "cliq"
        assert load_app("cliproj.celery:app")["queues"] == ["cliq"]
    finally:
        for name in ("cliproj", "cliproj.celery"):
            sys.modules.pop(name, None)


def test_result_and_revoke_commands(app, runtime, compat_worker, config_values):
    import json
    import subprocess
    from tests.conftest import ROOT, worker_env
    from tests.compat.proj_tasks import add, fail
    compat_worker()
    ok, bad = add.delay(1, 2), fail.delay("cli")
    ok.get(timeout=20)
    bad.get(timeout=20, propagate=False)
    waiting = add.apply_async((1, 1), countdown=60)
    env = worker_env(config_values)

    def mrqc(*args):
        return subprocess.run([sys.executable, "-m", "mrqcore.cli", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    out = mrqc("result", ok.id, "--json", "-A", "tests.compat.proj")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["state"] == "SUCCESS" and json.loads(out.stdout)["result"] == 3
    out = mrqc("result", bad.id, "--traceback")
    assert out.returncode == 0 and "FAILURE (failed)" in out.stdout and "CustomError" in out.stdout
    assert mrqc("result", "nope").returncode == 1
    out = mrqc("revoke", waiting.id)
    assert out.returncode == 0 and "queued -> cancel" in out.stdout
    assert waiting.state == "REVOKED"
