"""Queues declared as Celery declares them: custom exchanges and routing keys, and quorum queues."""
from __future__ import annotations

import uuid

import pytest


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
