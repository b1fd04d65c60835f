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
