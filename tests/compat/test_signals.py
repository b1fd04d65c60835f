"""Celery's signals fire with Celery's arguments, in the worker and in eager mode."""
from __future__ import annotations

from typing import Any

import pytest

from mrqc import signals
from tests.compat.conftest import signals_seen
from tests.conftest import wait_for


def test_task_signals_in_the_worker(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import add, fail
    compat_worker()
    ok = add.delay(1, 2)
    assert ok.get(timeout=20) == 3
    bad = fail.delay()
    bad.get(timeout=20, propagate=False)
    wait_for(lambda: len(signals_seen(redis_client, key)) >= 6, timeout=20, message="signals")
    seen = signals_seen(redis_client, key)
    name = "tests.compat.proj_tasks.add"
    assert {"signal": "task_prerun", "sender": name, "task_id": ok.id, "task": name, "args": [1, 2],
            "kwargs": {}} in seen
    assert {"signal": "task_success", "sender": name, "result": "3", "task_id": ok.id} in seen
    assert {"signal": "task_postrun", "sender": name, "task_id": ok.id, "state": "SUCCESS", "retval": "3"} in seen
    failure = [s for s in seen if s["signal"] == "task_failure"]
    assert failure == [{"signal": "task_failure", "sender": "tests.compat.proj_tasks.fail", "task_id": bad.id,
                        "exception": "CustomError", "has_tb": True, "einfo": "CustomError"}]
    order = [s["signal"] for s in seen if s.get("task_id") == ok.id]
    assert order == ["task_prerun", "task_success", "task_postrun"]


def test_worker_signals(app, compat_worker, redis_client, key):
    import signal as os_signal
    worker = compat_worker()
    worker.signal(os_signal.SIGINT)
    assert worker.wait(30) == 0
    assert redis_client.lrange(key("worker-signals"), 0, -1) == ["worker_init", "worker_ready", "worker_shutdown"]


def test_publish_signals_and_header_propagation(app, compat_worker):
    from tests.compat.proj_tasks import whoami
    calls: list[tuple[str, dict[str, Any]]] = []

    def before(sender=None, body=None, exchange=None, routing_key=None, headers=None, properties=None,
               declare=None, retry_policy=None, **kwargs):
        calls.append(("before", {"sender": sender, "routing_key": routing_key, "id": headers["id"],
                                 "task": headers["task"], "args": body[0]}))
        headers["trace_id"] = "from-signal"

    def after(sender=None, body=None, exchange=None, routing_key=None, headers=None, **kwargs):
        calls.append(("after", {"sender": sender, "id": headers["id"]}))

    signals.before_task_publish.connect(before)
    signals.after_task_publish.connect(after)
    try:
        compat_worker()
        result = whoami.delay(7)
    finally:
        signals.before_task_publish.disconnect(before)
        signals.after_task_publish.disconnect(after)
    name = "tests.compat.proj_tasks.whoami"
    assert calls == [("before", {"sender": name, "routing_key": "compat", "id": result.id, "task": name,
                                 "args": (7,)}),
                     ("after", {"sender": name, "id": result.id})]
    assert result.get(timeout=20)["trace_id"] == "from-signal"


def test_eager_signals_and_sender_filter(app):
    from tests.compat.proj_tasks import add, mul
    got: list[Any] = []

    @signals.task_success.connect(sender=add)
    def only_add(sender=None, result=None, **kwargs):
        got.append((sender.name, result))

    try:
        app.conf.task_always_eager = True
        assert add.delay(2, 2).get() == 4
        assert mul.delay(2, 3).get() == 6
    finally:
        signals.task_success.disconnect(only_add, sender=add)
    assert got == [("tests.compat.proj_tasks.add", 4)]


def test_receiver_errors_do_not_break_the_task(app):
    from tests.compat.proj_tasks import add

    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    signals.task_prerun.connect(broken)
    try:
        assert add.apply((1, 1)).get() == 2
    finally:
        signals.task_prerun.disconnect(broken)


def test_signal_connect_requires_callable():
    with pytest.raises(TypeError):
        signals.task_success.connect("not callable")
