"""mrqc.adapters: bridges between mrqc and the outside world.

Built: the **Celery wire** (docs/migrating-a-fleet.md), which lets mrqc join a
running Celery fleet through kombu, both directions, on RabbitMQ and Redis:

| module | what |
|---|---|
| ``wire`` | turning it on for an app: the worker middleware, the publisher, the result reader, ``--celery-wire`` |
| ``protocol`` | Celery's message (protocol 2 and 1) read, and written |
| ``consumer`` | the worker service: messages -> mrqc jobs, ack after record, dead letters |
| ``publisher`` | mrqc calls -> Celery messages |
| ``results`` | Celery's result-backend format, written after each job and read by ``AsyncResult`` |
| ``chords`` | chords joined in Celery's Redis backend as Celery joins them; chains holding chords or groups |
| ``routing`` | queues, exchanges and routing keys as Celery declares them |
| ``transports`` | the only code here that talks to Redis/RabbitMQ directly (Celery's keys and queues) |

Also built: Sentry reporting (``mrqc.adapters.sentry``, turned on by the
worker plugin ``mrqc.adapters.sentry_plugin``; docs/operations.md). Planned
here (not built yet): a MongoDB job store. The wire builds on mrqcore's seams
and on ``mrqc`` (the Celery layer).
"""
