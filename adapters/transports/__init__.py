"""The Celery wire's own connections to Celery's broker and result backend.

The one place in ``mrqc.adapters`` that talks to Redis (and RabbitMQ, through
kombu) directly: what is written here is Celery's data (its result keys), not
mrqc's, so it does not go through mrqc's store. ``tests/test_store_door.py``
allows this folder by path.
"""
