"""``mrqc.backends.redis``: ``RedisBackend``, the class of ``app.backend`` (the app's job records in Redis)."""
from __future__ import annotations

from .base import BaseKeyValueStoreBackend

__all__ = ["RedisBackend"]


class RedisBackend(BaseKeyValueStoreBackend):
    """The app's job records in its Redis (see ``mrqc.backends.base.Backend`` for the methods)."""
