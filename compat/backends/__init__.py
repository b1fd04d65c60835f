"""``mrqc.backends``: Celery's result-backend import paths (``celery.backends.base``, ``celery.backends.redis``).

An mrqc app has one result store: the job records in its Redis (see
docs/celery-compat.md). ``app.backend`` is a ``RedisBackend`` reading and
writing those records with Celery's backend methods (``get_task_meta``,
``store_result``, ``forget``, ``ensure_chords_allowed``...).
"""
