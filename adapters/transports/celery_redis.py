"""Celery's Redis result backend format: ``celery-task-meta-<id>`` keys, read and written.

What Celery's ``RedisBackend`` does, for the records mrqc's wire exchanges with
Celery clients and workers:

| step | Redis |
|---|---|
| store | ``SET celery-task-meta-<id> <json> EX <expires>`` + ``PUBLISH celery-task-meta-<id> <json>`` |
| read | ``GET celery-task-meta-<id>`` |
| chord size (publisher) | ``DEL <g>.c`` + ``SET <g>.s <size> EX <chord expires>`` |
| chord part (header task ended) | one Lua call: ``ZADD <g>.j <index> [1, id, state, result]`` once per ``id:index`` (``<g>.d``), expiry, and the claim ``SET <g>.c <token> NX`` by the part that completes it |
| chord join (the claimant) | ``ZRANGE <g>.j``, renew the claim, publish the body, then ``DEL`` the chord keys and ``SET <g>.c done`` |

``<g>`` is ``celery-taskset-meta-<group id>``. This is the join of Celery's
``RedisBackend.on_chord_part_return`` (Celery 5.7): the same keys and the same
rules, so header parts run by Celery workers and by mrqc wire workers join one
chord, and whichever finishes last calls the body, exactly once. With
``result_chord_ordered`` off (a transport option), ``.j`` is a list (``RPUSH``).

The PUBLISH is what a waiting ``AsyncResult.get()`` listens for. Both happen in
one Lua call, which keeps a stored ``SUCCESS`` (Celery never overwrites it).

Values are kombu's JSON (the ``json`` result serializer), so Celery's own
clients decode them. Only JSON results are written or read.
"""
from __future__ import annotations

from typing import Any

import redis
from kombu.utils.json import dumps, loads

__all__ = ("CeleryRedisBackend", "KEY_PREFIX", "GROUP_PREFIX", "ChordPart")

#: Celery's key prefix of a task's result (``BaseKeyValueStoreBackend.task_keyprefix``)
KEY_PREFIX = "celery-task-meta-"
#: Celery's key prefix of a group (``group_keyprefix``): the chord keys are ``<prefix><gid>.j`` ...
GROUP_PREFIX = "celery-taskset-meta-"

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


# KEYS = <g>.j, <g>.t, <g>.s, <g>.d, <g>, <g>.c
# ARGV = task id, encoded part, ordered (1/0), index, expires, group expires, claim seconds, claim token.
# A part counts once per "id:index"; after the chord was joined (.c = "done") a late copy changes nothing.
# Returns {parts recorded (-1: joined already), .t, .s, 1 if this call claimed the join}.
_PART = """
if redis.call('GET', KEYS[6]) == 'done' then
  return {-1, 0, 0, 0}
end
local member = ARGV[1] .. ':' .. ARGV[4]
if redis.call('SISMEMBER', KEYS[4], member) == 0 then
  if ARGV[3] == '1' then
    redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
  else
    redis.call('RPUSH', KEYS[1], ARGV[2])
  end
  redis.call('SADD', KEYS[4], member)
end
local ready
if ARGV[3] == '1' then ready = redis.call('ZCARD', KEYS[1]) else ready = redis.call('LLEN', KEYS[1]) end
local expires = tonumber(ARGV[5])
if expires > 0 then
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], expires) end
  if tonumber(ARGV[6]) > 0 then redis.call('EXPIRE', KEYS[5], ARGV[6]) end
end
local diff = redis.call('GET', KEYS[2])
local size = redis.call('GET', KEYS[3])
local claimed = 0
if size and ready == tonumber(size) + tonumber(diff or 0) then
  if redis.call('SET', KEYS[6], ARGV[8], 'NX', 'EX', ARGV[7]) then claimed = 1 end
end
return {ready, diff, size, claimed}
"""

# KEYS = <g>.c, <g>.s; ARGV = token, seconds. Keep (or take back, while the chord is not joined) the claim.
_RENEW = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if not owner and redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then return 1 end
end
return 0
"""

# KEYS = <g>.c, <g>.j, <g>.t, <g>.s, <g>.d; ARGV = token, seconds to keep the "done" mark.
_DONE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2]) end
return 1
"""


class ChordPart:
    """What recording one chord part returned: parts so far, the expected total, and the claim."""

    def __init__(self, ready: int, diff: Any, size: Any, claimed: Any) -> None:
        self.ready = int(ready)
        self.total = int(size or 0) + int(diff or 0) if size else None
        self.claimed = bool(int(claimed or 0))

    @property
    def joined_already(self) -> bool:
        return self.ready == -1

    @property
    def complete(self) -> bool:
        """This part completed the chord and claimed its join (the caller calls the body)."""
        return self.total is not None and self.ready == self.total and self.claimed


class CeleryRedisBackend:
    """A client of one Redis result backend (``result_backend = "redis://..."``)."""

    def __init__(self, url: str, key_prefix: str = "") -> None:
        self.url = url
        self.key_prefix = key_prefix  # result_backend_transport_options["global_keyprefix"]
        self._client = redis.Redis.from_url(url)
        self._store = self._client.register_script(_STORE)
        self._part = self._client.register_script(_PART)
        self._renew = self._client.register_script(_RENEW)
        self._done = self._client.register_script(_DONE)

    def key(self, task_id: str) -> str:
        return f"{self.key_prefix}{KEY_PREFIX}{task_id}"

    def get(self, task_id: str) -> dict[str, Any] | None:
        """The stored meta of ``task_id`` (``status``, ``result``, ``traceback``, ``date_done``...), or None."""
        raw = self._client.get(self.key(task_id))
        return None if raw is None else loads(raw)

    def store(self, task_id: str, meta: dict[str, Any], expires: int) -> bool:
        """Write ``meta`` and publish it; False if a SUCCESS was already stored (then nothing changes)."""
        return bool(self._store(keys=[self.key(task_id)], args=[dumps(meta), max(1, int(expires))]))

    def group_key(self, group_id: str, suffix: str = "") -> str:
        return f"{self.key_prefix}{GROUP_PREFIX}{group_id}{suffix}"

    def _chord_keys(self, group_id: str, *suffixes: str) -> list[str]:
        return [self.group_key(group_id, s) for s in suffixes]

    def set_chord_size(self, group_id: str, size: int, expires: int | None) -> None:
        """What Celery's publisher writes before the header's last message: a new run, of ``size`` parts."""
        pipe = self._client.pipeline()
        pipe.delete(self.group_key(group_id, ".c"))
        pipe.set(self.group_key(group_id, ".s"), int(size), ex=int(expires) if expires else None)
        pipe.execute()

    def chord_part(self, group_id: str, task_id: str, index: int | None, encoded: str, ordered: bool,
                   expires: int, group_expires: int, claim_seconds: int, token: str) -> ChordPart:
        """Record one header part's outcome (``encoded`` = ``[1, id, state, result]``), in one Lua call."""
        keys = self._chord_keys(group_id, ".j", ".t", ".s", ".d", "", ".c")
        score = "+inf" if index is None else str(int(index))
        reply = self._part(keys=keys, args=[task_id, encoded, "1" if ordered else "0", score, int(expires or 0),
                                            int(group_expires or 0), int(claim_seconds), token])
        return ChordPart(*reply)

    def chord_parts(self, group_id: str, ordered: bool) -> list[Any]:
        """The recorded parts, decoded, in header order (``[1, id, state, result]`` each)."""
        key = self.group_key(group_id, ".j")
        raw = self._client.zrange(key, 0, -1) if ordered else self._client.lrange(key, 0, -1)
        return [loads(item) for item in raw]

    def renew_claim(self, group_id: str, token: str, seconds: int) -> bool:
        return bool(self._renew(keys=self._chord_keys(group_id, ".c", ".s"), args=[token, int(seconds)]))

    def chord_done(self, group_id: str, token: str, keep_seconds: int) -> bool:
        """Drop the chord's keys and mark it joined (a late copy of a part changes nothing)."""
        return bool(self._done(keys=self._chord_keys(group_id, ".c", ".j", ".t", ".s", ".d"),
                               args=[token, int(keep_seconds)]))

    def forget_chord_size(self, group_id: str) -> None:
        """After a failed join (Celery's rule): a later copy of a part does not fail the chord again."""
        self._client.delete(self.group_key(group_id, ".s"))

    def close(self) -> None:
        self._client.close()
