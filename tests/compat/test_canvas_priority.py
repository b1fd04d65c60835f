"""Where a call's priority comes from and which step it waits on (``mrqc.priority``), read from the records.

The order workers serve steps in is checked against real Celery in test_canvas_shapes.py; the store's
step lists in tests/store/test_contract_priority.py.
"""
from __future__ import annotations

import json

import pytest

from mrqc.exceptions import ImproperlyConfigured
from mrqc.priority import step_for


def _recorded(app, result):
    record = app.runtime.store.get(result.id, ("priority", "meta"))
    return record.get("priority"), json.loads(record["meta"]).get("priority")


def test_kombus_redis_steps():
    assert [step_for(p) for p in (None, 0, 1, 2, 3, 5, 6, 8, 9, 10, 255, -3)] == [0, 0, 0, 0, 3, 3, 6, 6, 9, 9, 9, 0]
    assert [step_for(p, (0, 5)) for p in (4, 5, 9)] == [0, 5, 5]
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        step_for(2.5)


def test_call_option_then_default_priority(app, runtime):
    from tests.compat.proj_tasks import add
    assert _recorded(app, add.apply_async((1, 1))) == (None, None)  # no priority: the queue's own list
    assert _recorded(app, add.apply_async((1, 1), priority=4)) == ("3", 4)
    assert _recorded(app, add.s(1, 1).set(priority=9).apply_async()) == ("9", 9)
    app.conf.task_default_priority = 7
    try:
        assert _recorded(app, add.apply_async((1, 1))) == ("6", 7)
        assert _recorded(app, add.apply_async((1, 1), priority=0)) == (None, 0)  # step 0: the own list
    finally:
        app.conf.task_default_priority = None


def test_priority_steps_setting_is_read_and_checked(app, runtime):
    from tests.compat.proj_tasks import add
    app.conf.broker_transport_options = {"priority_steps": [0, 5]}
    try:
        assert _recorded(app, add.apply_async((1, 1), priority=4)) == (None, 4)
        assert _recorded(app, add.apply_async((1, 1), priority=7)) == ("5", 7)
        app.conf.broker_transport_options = {"priority_steps": [3, 1]}
        with pytest.raises(ImproperlyConfigured, match="priority_steps"):
            add.apply_async((1, 1), priority=4)
    finally:
        app.conf.broker_transport_options = None
