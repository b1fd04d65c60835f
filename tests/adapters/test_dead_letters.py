"""Acceptance 4: each kind of bad message is dead-lettered with its reason; the worker keeps serving."""
from __future__ import annotations

import uuid
from typing import Any

from kombu import Connection, Exchange, Queue

from tests.conftest import wait_for
from tests.sentry_receiver import sentry_receiver  # noqa: F401  (pytest fixture)


def _publish_raw(wire: Any, body: Any, content_type: str, headers: dict[str, Any]) -> None:
    queue = Queue(wire.queue, Exchange(wire.queue, type="direct"), routing_key=wire.queue)
    with Connection(wire.broker) as conn:
        conn.Producer().publish(body, exchange=queue.exchange, routing_key=wire.queue, declare=[queue],
                                content_type=content_type, content_encoding="utf-8", headers=headers)


def _dead_letters(wire: Any) -> dict[str, str]:
    """task id -> reason, of what is in ``<queue>.dead`` (read without removing it for good)."""
    found: dict[str, str] = {}
    dead = Queue(wire.queue + ".dead", Exchange(""), routing_key=wire.queue + ".dead")
    with Connection(wire.broker) as conn:
        bound = dead(conn.channel())
        bound.declare()
        messages = []
        while True:
            message = bound.get(no_ack=False)
            if message is None:
                break
            messages.append(message)
            found[message.headers.get("id") or "?"] = message.headers["x-mrqc-dead-reason"]
        for message in messages:
            message.requeue()
    return found


def _headers(name: str) -> dict[str, Any]:
    return {"lang": "py", "task": name, "id": str(uuid.uuid4()), "retries": 0, "timelimit": [None, None],
            "root_id": None, "parent_id": None, "group": None, "eta": None, "expires": None}


def test_each_bad_message_is_dead_lettered_with_its_reason(wire, procs, celery_client):
    worker = procs("mrqc", wire)
    malformed, unknown_type, not_a_body = _headers("wire.add"), _headers("wire.add"), _headers("wire.add")
    _publish_raw(wire, b'[[1, 2], {}, {"callbacks": nul', "application/json", malformed)
    _publish_raw(wire, b"\x00\x01", "application/x-nope", unknown_type)
    _publish_raw(wire, b'{"neither": "protocol"}', "application/json", {"id": not_a_body["id"]})
    unknown_task = celery_client.send_task("wire.no_such_task", args=(1,))
    pickled = celery_client.wire_tasks["add"].apply_async((1, 2), serializer="pickle")
    good = celery_client.wire_tasks["add"].delay(3, 4)
    assert good.get(timeout=30) == 7  # the queue and the worker go on
    expected = {malformed["id"]: "malformed body", unknown_type["id"]: "unknown content type",
                not_a_body["id"]: "malformed body", unknown_task.id: "unknown task",
                pickled.id: "refused serializer"}
    wait_for(lambda: len(_dead_letters(wire)) >= len(expected), timeout=30, message="five dead letters")
    dead = _dead_letters(wire)
    for task_id, kind in expected.items():
        assert dead[task_id].startswith(kind), (task_id, dead)
    assert "'wire.no_such_task' is not registered" in dead[unknown_task.id]
    assert "application/x-python-serialize is not in accept_content" in dead[pickled.id]
    log = worker.output()
    for task_id in expected:
        assert f"celery wire: dead-lettered message {task_id} from {wire.queue}: " in log
    assert celery_client.wire_tasks["add"].delay(5, 5).get(timeout=30) == 10


def test_pickle_runs_when_accept_content_lists_it(wire, procs, celery_client):
    procs("mrqc", wire, env={"WIRE_ACCEPT": "json,pickle"})
    assert celery_client.wire_tasks["add"].apply_async((2, 2), serializer="pickle").get(timeout=30) == 4


def test_a_dead_letter_reaches_sentry_once_with_its_reason(wire, procs, celery_client, sentry_receiver):
    procs("mrqc", wire, env={"SENTRY_DSN": sentry_receiver.dsn})
    unknown_task = celery_client.send_task("wire.no_such_task", args=(1,))
    assert celery_client.wire_tasks["add"].delay(1, 1).get(timeout=30) == 2  # served after it
    wait_for(lambda: unknown_task.id in _dead_letters(wire), timeout=30, message="the dead letter")
    [event] = sentry_receiver.wait_for_events(1)
    tags = dict(event["tags"]) if isinstance(event["tags"], list) else event["tags"]
    assert tags["mrqc.dead_reason"] == "unknown task"
    assert tags["mrqc.job_id"] == unknown_task.id and tags["mrqc.queue"] == wire.queue
    assert tags["mrqc.task"] == "wire.no_such_task"
    assert event["fingerprint"] == ["mrqc", "dead-letter", wire.queue, "unknown task"]
    wait_for(lambda: celery_client.wire_tasks["add"].delay(2, 2).get(timeout=30) == 4, timeout=30,
             message="the worker keeps serving")
    assert len(sentry_receiver.events()) == 1  # the ERROR log line did not make a second event
