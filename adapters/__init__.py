"""mrqc.adapters: bridges between mrqcore and the outside world.

Built: Sentry reporting (``mrqc.adapters.sentry``, turned on by the worker
plugin ``mrqc.adapters.sentry_plugin``; docs/operations.md). Planned (see
docs/architecture.md, "Planned, and where it slots in"): kombu transports
speaking Celery's protocol v2 in both directions (RabbitMQ and Redis),
Celery's result-backend format, and a MongoDB job store. This package builds
on mrqcore only.
"""
