"""Queues declared as Celery declares them: custom exchanges and routing keys, quorum queues, and kombu's
``global_keyprefix`` on a Redis broker."""
from __future__ import annotations

import base64
import json
import uuid

import pytest
import redis as redis_lib


def test_a_queue_on_its_own_topic_exchange(wire, procs, monkeypatch):
    exchange = f"wire-x-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("WIRE_EXCHANGE", exchange)
    from tests.adapters import celery_side, mrqc_side
    celery_app = celery_side.make_app(wire.broker, wire.backend, wire.queue, **celery_side.routing_settings(wire.queue))
    mrqc_app = mrqc_side.make_app(wire.broker, wire.backend, wire.queue, **mrqc_side.routing_settings(wire.queue))
    procs("mrqc", wire, env={"WIRE_EXCHANGE": exchange})
    assert celery_app.wire_tasks["add"].delay(1, 5).get(timeout=30) == 6  # Celery publishes to the exchange
    procs("celery", wire, env={"WIRE_EXCHANGE": exchange})
    results = [mrqc_app.wire_tasks["add"].delay(n, 0) for n in range(6)]  # so does mrqc; either side runs them
    assert [r.get(timeout=60) for r in results] == list(range(6))
    celery_app.close()


@pytest.mark.parametrize("wire", ["amqp"], indirect=True)  # queue types are RabbitMQ's
def test_quorum_queues_are_declared_with_celerys_arguments(wire, procs, monkeypatch):
    monkeypatch.setenv("WIRE_QUEUE_TYPE", "quorum")
    from tests.adapters import celery_side, mrqc_side
    celery_app = celery_side.make_app(wire.broker, wire.backend, wire.queue, **celery_side.routing_settings(wire.queue))
    mrqc_app = mrqc_side.make_app(wire.broker, wire.backend, wire.queue, **mrqc_side.routing_settings(wire.queue))
    first = celery_app.wire_tasks["add"].delay(2, 2)  # Celery declares the quorum queue first
    procs("mrqc", wire, env={"WIRE_QUEUE_TYPE": "quorum"})  # RabbitMQ would refuse other arguments
    assert first.get(timeout=30) == 4
    assert mrqc_app.wire_tasks["add"].delay(3, 3).get(timeout=30) == 6
    from kombu import Connection
    with Connection(wire.broker) as conn:  # redeclaring with Celery's arguments is accepted: same queue
        from mrqc.adapters.routing import broker_queue
        broker_queue(mrqc_app, wire.queue)(conn.channel()).declare()
    celery_app.close()


@pytest.mark.parametrize("wire", ["redis"], indirect=True)  # a Redis transport option
def test_kombus_global_keyprefix_on_a_redis_broker(wire, procs, monkeypatch):
    keyprefix = wire.prefix + "kombu:"
    monkeypatch.setenv("WIRE_KEYPREFIX", keyprefix)
    from tests.adapters import celery_side
    celery_app = celery_side.make_app(wire.broker, wire.backend, wire.queue, **celery_side.routing_settings(wire.queue))
    procs("mrqc", wire, env={"WIRE_KEYPREFIX": keyprefix, "WIRE_VISIBILITY": "2"})
    client = redis_lib.Redis.from_url(wire.broker)
    try:
        assert celery_app.wire_tasks["add"].delay(2, 5).get(timeout=30) == 7
        bindings = f"_kombu.binding.{wire.queue}"
        assert client.exists(keyprefix + bindings) and not client.exists(bindings)  # kombu's keys, prefixed
        # a message taken and left unacknowledged under the prefix comes back (the wire's restore)
        tag = f"wire-restore-{uuid.uuid4().hex[:8]}"
        message = celery_app.amqp.as_task_v2(str(uuid.uuid4()), "wire.add", args=(20, 22))
        payload = {"body": message.body, "headers": message.headers, "properties": dict(
            message.properties, delivery_tag=tag, delivery_info={"exchange": wire.queue, "routing_key": wire.queue}),
            "content-type": "application/json", "content-encoding": "utf-8"}
        payload["body"] = base64.b64encode(json.dumps(message.body).encode()).decode()
        payload["properties"]["body_encoding"] = "base64"
        client.hset(keyprefix + "unacked", tag, json.dumps([payload, wire.queue, wire.queue]))
        client.zadd(keyprefix + "unacked_index", {tag: 1.0})  # taken long ago, by a worker now gone
        assert celery_app.AsyncResult(message.headers["id"]).get(timeout=30) == 42
    finally:
        celery_app.close()
        keys = list(client.scan_iter(match=keyprefix + "*"))
        if keys:
            client.delete(*keys)
