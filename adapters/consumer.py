"""The wire's consumer: Celery messages from the app's broker become mrqc jobs (a worker service).

``WireConsumer(app, worker).run`` is added with ``worker.add_service`` by the
wire middleware (``mrqc.adapters.wire``). It consumes the worker's queues on
the app's ``broker_url`` through kombu (RabbitMQ or Redis), declared as Celery
declares them (``mrqc.adapters.routing``), and for each batch of messages:

1. reads each message (``mrqc.adapters.protocol``: protocol 2 or 1; the content
   types of ``accept_content``, JSON by default, pickle only when listed);
2. skips a message whose task id already has a record in mrqc's store (a
   redelivery: it is never run twice; one ``get_many`` per batch), and
   records the others through ``mrqc.calling.prepare``/``record_many``, the
   code path of ``.delay()``, in one atomic store write per batch (an
   ``eta``/countdown goes to mrqc's scheduled set);
3. only then acknowledges the batch in one round trip
   (``mrqc.adapters.transports.kombu_acks``; prefetch = ``batch`` messages).

On Redis the messages are taken by ``mrqc.adapters.transports.kombu_redis``
(up to ``batch`` per Lua call, each recorded as unacknowledged in the same
step, where kombu's own ``BRPOP`` leaves a loss window), and messages taken
longer than ``visibility_timeout`` ago are put back by the consumer.

So a worker killed at any point loses nothing: an unacknowledged message is
redelivered, and one already recorded is acknowledged without a second job.

**Bad messages** (malformed body, unknown content type, refused serializer,
unknown task, unsupported workflow: a chain step the wire cannot continue, a
chord with no Redis result backend, ``celery.chord_unlock``) are dead-lettered: republished unchanged to
``<queue>.dead`` on the same broker, with headers ``x-mrqc-dead-reason`` and
``x-mrqc-dead-queue``, then acknowledged, with one ERROR log line
``celery wire: dead-lettered message <id> from <queue>: <reason>``. The
worker and the queue go on.
"""
from __future__ import annotations

import logging
import socket
import time
from typing import TYPE_CHECKING, Any

import gevent
from kombu import Connection, Consumer

from .chords import CHORD_UNLOCK
from .protocol import CHORD_META, BadMessage, content_types, decode
from .results import backend_for
from .routing import broker_queues, dead_letter_queue
from .transports.kombu_acks import ack_all
from .transports.kombu_redis import RedisFetcher

if TYPE_CHECKING:
    from kombu.message import Message
    from mrqc.app import Celery
    from mrqcore.worker import Worker

logger = logging.getLogger("mrqc.wire")
#: the dead-letter lines (Sentry gets its own event for each: see ``_report_dead_letter``)
DEAD_LETTER_LOGGER = "mrqc.wire.dead"
dead_logger = logging.getLogger(DEAD_LETTER_LOGGER)

__all__ = ("WireConsumer", "DEFAULT_BATCH")

#: messages taken per round (prefetch) and acknowledged together
DEFAULT_BATCH = 100


class WireConsumer:
    """Consumes ``worker.queues`` from ``app``'s broker into mrqc jobs."""

    def __init__(self, app: "Celery", worker: "Worker", batch: int = DEFAULT_BATCH) -> None:
        self.app = app
        self.worker = worker
        self.batch = max(1, int(batch))
        self.accept = content_types(app.conf.accept_content)
        self._pending: list[tuple[str, "Message"]] = []
        self.recorded = 0
        self.dead = 0

    def run(self) -> None:
        """Consume until killed; reconnect after a broker error."""
        while True:
            try:
                self._consume()
            except gevent.GreenletExit:
                raise
            except Exception as exc:  # broker or store unreachable: unacked messages are redelivered
                logger.warning("celery wire: consumer stopped (%s: %s); reconnecting", type(exc).__name__, exc)
                self._pending.clear()
                gevent.sleep(1.0)

    def _consume(self) -> None:
        url = self.app.conf.broker_url
        options = dict(self.app.conf.broker_transport_options or {})
        with Connection(url, transport_options=options) as connection:
            connection.ensure_connection(max_retries=3)
            channel = connection.channel()
            self.producer = connection.Producer(channel)
            if connection.transport.driver_type == "redis":
                self._take_from_redis(url, channel, options)
                return
            self._ack = ack_all
            consumers = []
            for queue in broker_queues(self.app, self.worker.queues):
                consumer = Consumer(channel, [queue], on_message=self._collector(queue.name), accept=self.accept,
                                    prefetch_count=self.batch)
                consumer.consume()
                consumers.append(consumer)
            logger.info("celery wire: consuming %s from %s", self.worker.queues, connection.as_uri())
            while True:
                try:
                    connection.drain_events(timeout=1.0)
                except socket.timeout:
                    continue
                while len(self._pending) < self.batch:
                    try:
                        connection.drain_events(timeout=0.01)
                    except socket.timeout:
                        break
                self._flush()

    def _take_from_redis(self, url: str, channel: Any, options: dict[str, Any]) -> None:
        """kombu's Redis transport, taken in batches with no loss window (``transports.kombu_redis``)."""
        import orjson
        fetcher = RedisFetcher(url, float(options.get("visibility_timeout") or 3600),
                               str(options.get("global_keyprefix") or ""))
        self._ack = lambda messages: fetcher.ack([m.delivery_tag for m in messages])
        for queue in broker_queues(self.app, self.worker.queues):
            queue(channel).declare()  # the exchange binding kombu's restore looks up
        logger.info("celery wire: consuming %s from %s", self.worker.queues, channel.connection.client.as_uri())
        idle, next_restore = 0.01, 0.0
        try:
            while True:
                for name in self.worker.queues:
                    for raw in fetcher.fetch(name, self.batch - len(self._pending)):
                        try:
                            message = channel.Message(orjson.loads(raw), channel=channel)
                        except Exception as exc:  # not kombu's envelope: dead-letter the raw bytes
                            self._dead_letter(name, _Raw(raw), BadMessage("malformed body", f"envelope: {exc}"))
                            continue
                        self._pending.append((name, message))
                    if len(self._pending) >= self.batch:
                        break
                taken = len(self._pending)
                self._flush()
                if time.monotonic() >= next_restore:
                    fetcher.restore_due(channel.qos)
                    next_restore = time.monotonic() + min(60.0, max(1.0, fetcher.visibility_timeout / 4))
                idle = 0.01 if taken else min(idle * 2, 0.2)
                if not taken:
                    gevent.sleep(idle)
        finally:
            fetcher.close()

    def _collector(self, queue: str) -> Any:
        def collect(message: "Message") -> None:
            self._pending.append((queue, message))
        return collect

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        from mrqc import calling
        prepared = [call for call in (self._read(queue, message) for queue, message in pending) if call is not None]
        if prepared:
            known = self.app.runtime.store.get_many([c.task_id for c in prepared], ("status",))
            fresh = [c for c, record in zip(prepared, known) if not record]
            for call in prepared:
                if call not in fresh:
                    logger.info("celery wire: message %s already recorded (redelivery); acknowledged", call.task_id)
            calling.record_many(self.app, fresh)  # one atomic write; raises (no ack) if the store is away
            self.recorded += len(fresh)
        self._ack([message for _, message in pending])  # one round trip for the batch

    def _read(self, queue: str, message: "Message") -> Any:
        """The prepared call of one message, or None after dead-lettering it."""
        from mrqc import calling
        from mrqc.exceptions import MrqcError
        try:
            call = decode(message.body, message.headers, message.properties, message.content_type,
                          message.content_encoding, self.accept)
            if call.name == CHORD_UNLOCK:
                raise BadMessage("unsupported", f"{CHORD_UNLOCK} is Celery's polling chord join for result "
                                 "backends that cannot join chords; the wire joins chords in a Redis "
                                 f"result_backend only (this app's is {self.app.conf.result_backend!r})")
            if self.app.tasks.get(call.name) is None:
                raise BadMessage("unknown task", f"{call.name!r} is not registered in app {self.app.main!r}")
            if (call.options.get("meta") or {}).get(CHORD_META) and backend_for(self.app) is None:
                raise BadMessage("unsupported", "a chord header task needs a Redis result_backend to join its "
                                 f"chord (this app's is {self.app.conf.result_backend!r})")
            try:
                return calling.prepare(self.app, call.name, call.args, call.kwargs, task_id=call.task_id,
                                       queue=queue, **call.options)
            except (MrqcError, TypeError, ValueError) as exc:
                raise BadMessage("unsupported", f"{type(exc).__name__}: {exc}") from exc
        except BadMessage as bad:
            self._dead_letter(queue, message, bad)
            return None

    def _dead_letter(self, queue: str, message: "Message", bad: BadMessage) -> None:
        dead = dead_letter_queue(queue)
        headers = dict(message.headers or {})
        headers.update({"x-mrqc-dead-reason": str(bad), "x-mrqc-dead-queue": queue})
        body = message.body if isinstance(message.body, (bytes, str)) else str(message.body)
        self.producer.publish(body, exchange="", routing_key=dead.name, declare=[dead], headers=headers,
                              content_type=message.content_type or "application/octet-stream",
                              content_encoding=message.content_encoding or "binary", delivery_mode=2)
        self.dead += 1
        task_id = (message.headers or {}).get("id") or message.properties.get("correlation_id")
        dead_logger.error("celery wire: dead-lettered message %s from %s: %s", task_id, queue, bad)
        _report_dead_letter(queue, task_id, (message.headers or {}).get("task"), bad)


def _report_dead_letter(queue: str, task_id: str | None, task: str | None, bad: BadMessage) -> None:
    """One Sentry event per dead letter, when sentry-sdk is installed and a client is active."""
    try:
        from .sentry import capture_dead_letter
    except ImportError:  # no sentry-sdk: the log line is the report
        return
    try:
        capture_dead_letter(queue, task_id, task, bad.kind, str(bad))
    except Exception:  # reporting must never stop the consumer
        logger.exception("celery wire: could not report a dead letter to Sentry")


class _Raw:
    """A payload that is not a kombu message at all, dead-lettered as bytes."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers: dict[str, Any] = {}
        self.properties: dict[str, Any] = {}
        self.content_type = "application/octet-stream"
        self.content_encoding = "binary"
