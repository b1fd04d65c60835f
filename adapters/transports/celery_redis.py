"""Celery's Redis result backend format: ``celery-task-meta-<id>`` keys, read and written.

What Celery's ``RedisBackend`` does, for the records mrqc's wire exchanges with
Celery clients and workers:

| step | Redis |
|---|---|
| store | ``SET celery-task-meta-<id> <json> EX <expires>`` + ``PUBLISH celery-task-meta-<id> <json>`` |
| read | ``GET celery-task-meta-<id>`` |

The PUBLISH is what a waiting ``AsyncResult.get()`` listens for. Both happen in
one Lua call, which keeps a stored ``SUCCESS`` (Celery never overwrites it).

Values are kombu's JSON (the ``json`` result serializer), so Celery's own
clients decode them. Only JSON results are written or read.
"""
from __future__ import annotations

from typing import Any

import redis
from kombu.utils.json import dumps, loads

__all__ = ("CeleryRedisBackend", "KEY_PREFIX")

#: Celery's key prefix of a task's result (``BaseKeyValueStoreBackend.task_keyprefix``)
KEY_PREFIX = "celery-task-meta-"

# KEYS[1] = the result key; ARGV = value, seconds to live. A stored SUCCESS is kept (Celery's rule).
_STORE = """
local current = redis.call('GET', KEYS[1])
if current and string.find(current, '"status": *"SUCCESS"') then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
"""


class CeleryRedisBackend:
    """A client of one Redis result backend (``result_backend = "redis://..."``)."""

    def __init__(self, url: str, key_prefix: str = "") -> None:
        self.url = url
        self.key_prefix = key_prefix  # result_backend_transport_options["global_keyprefix"]
        self._client = redis.Redis.from_url(url)
        self._store = self._client.register_script(_STORE)

    def key(self, task_id: str) -> str:
        return f"{self.key_prefix}{KEY_PREFIX}{task_id}"

    def get(self, task_id: str) -> dict[str, Any] | None:
        """The stored meta of ``task_id`` (``status``, ``result``, ``traceback``, ``date_done``...), or None."""
        raw = self._client.get(self.key(task_id))
        return None if raw is None else loads(raw)

    def store(self, task_id: str, meta: dict[str, Any], expires: int) -> bool:
        """Write ``meta`` and publish it; False if a SUCCESS was already stored (then nothing changes)."""
        return bool(self._store(keys=[self.key(task_id)], args=[dumps(meta), max(1, int(expires))]))

    def close(self) -> None:
        self._client.close()
