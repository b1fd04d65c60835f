"""Acceptance 4: failures of the tool reach a local Sentry receiver (real sentry-sdk envelopes).

One event per file the tool could not handle, tagged with the file and the
construct. The receiver is tests/sentry_receiver.py (a real HTTP server
acting as a Sentry DSN).
"""
from __future__ import annotations

import os
from pathlib import Path

from tests.sentry_receiver import SentryReceiver, sentry_receiver  # noqa: F401 - pytest fixture

from .helpers import run_migrate


def _failing_project(root: Path) -> None:
    (root / "good.py").write_text("from celery import shared_task\n")
    (root / "broken.py").write_text("from celery import Celery\napp = Celery(\n")  # does not parse
    (root / "latin1.py").write_bytes("# caf\xe9\nfrom celery import group\n".encode("latin-1"))  # not UTF-8
    os.symlink(root / "gone.py", root / "dangling.py")  # reading it raises inside the tool


def test_each_failed_file_is_one_event_with_tags(tmp_path: Path, sentry_receiver: SentryReceiver) -> None:  # noqa: F811
    _failing_project(tmp_path)
    run = run_migrate("--write", "--sentry-dsn", sentry_receiver.dsn, ".", cwd=tmp_path)
    assert run.code == 2, run.stderr
    assert sorted(e["file"] for e in run.report["errors"]) == ["broken.py", "dangling.py", "latin1.py"]
    events = sentry_receiver.wait_for_events(3)
    tags = sorted((e["tags"]["file"], e["tags"]["construct"]) for e in events)
    assert tags == [("broken.py", "python file"), ("dangling.py", "python file"), ("latin1.py", "python file")]
    by_file = {e["tags"]["file"]: e for e in events}
    assert by_file["broken.py"]["exception"]["values"][-1]["type"] == "ParserSyntaxError"
    assert by_file["latin1.py"]["exception"]["values"][-1]["type"] == "UnicodeDecodeError"
    assert by_file["dangling.py"]["exception"]["values"][-1]["type"] == "FileNotFoundError"
    assert by_file["broken.py"]["extra"]["line"] == 2
    assert (tmp_path / "good.py").read_text() == "from mrqc import shared_task\n"


def test_dsn_from_the_environment(tmp_path: Path, sentry_receiver: SentryReceiver) -> None:  # noqa: F811
    (tmp_path / "broken.py").write_text("def (\n")
    run = run_migrate(".", cwd=tmp_path, env={"SENTRY_DSN": sentry_receiver.dsn})
    assert run.code == 2
    [event] = sentry_receiver.wait_for_events(1)
    assert event["tags"]["file"] == "broken.py" and event["tags"]["tool"] == "mrqc migrate"


def test_no_dsn_no_sentry(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    from mrqc.migration import migrate
    from mrqc.migration.sentry import SentryReporter
    assert SentryReporter(None).client is None
    (tmp_path / "broken.py").write_text("def (\n")
    report = migrate([tmp_path], mode="check", root=str(tmp_path))
    assert report.exit_code == 2 and report.of_kind("error")[0].file == "broken.py"
