"""A pytest plugin loaded (``-p``) into both sides' runs of Celery's suite, the same on both sides.

It caps each test's time: Celery's ``@flaky`` gives its tests 300 s (and
reruns, from pytest-rerunfailures, which is not loaded here: every test runs
once on each side). A test that hangs would otherwise hold a run for five
minutes; test_canvas.py waits 60 s on a result that never comes. ``CONFORMANCE_TEST_TIMEOUT``
(seconds, default 45) is the cap: a test that needs longer fails on either side (on Celery 5.7 here:
three chord error-callback tests, see docs/celery-conformance.md).
"""
from __future__ import annotations

import os
from typing import Any

import pytest

CAP = float(os.environ.get("CONFORMANCE_TEST_TIMEOUT", "45"))


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        mark = item.get_closest_marker("timeout")
        seconds = None
        if mark is not None:
            seconds = mark.kwargs.get("timeout", mark.args[0] if mark.args else None)
        if seconds is None or float(seconds) > CAP:
            # pytest-timeout reads the closest marker: this one, put first
            item.add_marker(pytest.mark.timeout(CAP), append=False)
