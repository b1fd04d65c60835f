"""Results in Celery's result-backend format (``celery-task-meta-<id>``), written by mrqc wire workers."""
from __future__ import annotations

import datetime
import json
import uuid

import redis as redis_lib

from mrqc.adapters.transports.celery_redis import CeleryRedisBackend
from tests.conftest import wait_for


def _meta(wire, task_id):
    raw = redis_lib.Redis.from_url(wire.backend).get(f"celery-task-meta-{task_id}")
    return json.loads(raw) if raw else None


def test_the_keys_hold_what_celery_writes(wire, procs, celery_client):
    procs("mrqc", wire)
    tasks = celery_client.wire_tasks
    ok = tasks["add"].delay(1, 2)
    assert ok.get(timeout=30) == 3
    meta = _meta(wire, ok.id)
    assert meta["status"] == "SUCCESS" and meta["result"] == 3 and meta["task_id"] == ok.id
    assert meta["traceback"] is None and meta["children"] == []
    assert datetime.datetime.fromisoformat(meta["date_done"]).tzinfo is not None
    bad = tasks["fail"].delay("nope")
    wait_for(lambda: _meta(wire, bad.id), timeout=30, message="the failure stored")
    meta = _meta(wire, bad.id)
    assert meta["status"] == "FAILURE"
    assert meta["result"] == {"exc_type": "WireError", "exc_message": ["nope"],
                              "exc_module": "tests.adapters.wire_tasks"}
    assert "WireError: nope" in meta["traceback"]
    assert bad.state == "FAILURE" and isinstance(bad.result, Exception)


def test_children_are_celery_result_tuples(wire, procs, celery_client):
    procs("mrqc", wire)
    parent = celery_client.wire_tasks["spawn"].delay()
    child_id = parent.get(timeout=30)
    meta = _meta(wire, parent.id)
    assert meta["children"] == [[[child_id, None], None]]
    assert celery_client.AsyncResult(child_id).get(timeout=30) == 3  # published over the wire by the worker
    assert [c.id for c in parent.children] == [child_id]


def test_a_stored_success_is_never_overwritten_and_every_write_is_published(wire):
    backend = CeleryRedisBackend(wire.backend)
    task_id = str(uuid.uuid4())
    pubsub = redis_lib.Redis.from_url(wire.backend).pubsub()
    pubsub.subscribe(backend.key(task_id))
    wait_for(lambda: pubsub.get_message(timeout=0.1), message="subscribed")
    assert backend.store(task_id, {"status": "SUCCESS", "result": 1, "task_id": task_id}, 60)
    message = wait_for(lambda: pubsub.get_message(timeout=0.1), message="the publish Celery's get() waits on")
    assert json.loads(message["data"])["result"] == 1
    assert not backend.store(task_id, {"status": "FAILURE", "result": None, "task_id": task_id}, 60)
    assert backend.get(task_id)["status"] == "SUCCESS"
    redis_lib.Redis.from_url(wire.backend).delete(backend.key(task_id))
    backend.close()
