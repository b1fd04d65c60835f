"""mrqc.adapters: bridges between mrqcore and the outside world.

Planned here (not built yet; see docs/architecture.md, "Planned, and where it
slots in"): kombu transports speaking Celery's protocol v2 in both directions
(RabbitMQ and Redis), Celery's result-backend format, Sentry reporting as a
middleware, and a MongoDB job store. This package builds on mrqcore only.
"""
