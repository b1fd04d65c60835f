"""Every name a Celery project imports from celery.signals / exceptions / states exists in mrqc.

Uses the real celery package (installed for tests) as the reference list; mrqc itself never imports it.
"""
from __future__ import annotations

import importlib

import pytest

import celery  # noqa: E402 - real Celery, in the test extra


@pytest.mark.parametrize("module,public", [
    ("signals", None), ("exceptions", None), ("states", None), ("canvas", ["chain", "group", "chord", "chunks",
                                                                         "signature", "maybe_signature",
                                                                         "Signature", "xmap", "xstarmap"]),
    ("result", ["AsyncResult", "GroupResult", "EagerResult", "ResultSet", "result_from_tuple"]),
    ("utils.log", ["get_task_logger", "get_logger"]),
])
def test_names_match_celery(module, public):
    theirs = importlib.import_module(f"celery.{module}")
    ours = importlib.import_module(f"mrqc.{module}")
    names = public or [n for n in getattr(theirs, "__all__", dir(theirs))
                       if not n.startswith("_") and (n.isupper() or n[0].isupper() or module == "signals")]
    names = [n for n in names if module != "states" or n not in ("NONE_PRECEDENCE", "PRECEDENCE_LOOKUP",
                                                                 "precedence", "state")]
    missing = [n for n in names if not hasattr(ours, n)]
    assert missing == []


def test_top_level_names():
    import mrqc
    for name in ("Celery", "shared_task", "Task", "signature", "chain", "group", "chord", "chunks", "states",
                 "AsyncResult", "GroupResult", "current_app", "current_task", "uuid", "Signature", "maybe_signature",
                 "subtask", "xmap", "xstarmap"):
        assert hasattr(mrqc, name), name
