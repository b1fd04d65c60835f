"""Taking Celery messages from kombu's Redis transport with no loss window, in batches.

kombu's Redis transport takes a message with ``BRPOP`` and only then, in a
second round trip, records it as unacknowledged (``unacked`` hash +
``unacked_index`` zset). A consumer killed between the two loses the message.
``RedisFetcher.fetch`` does both in one Lua call, for up to ``count``
messages at once, writing exactly what kombu writes, so kombu's own restore
(by any kombu consumer, Celery's included) and ack work on them:

| key | what |
|---|---|
| ``<queue>``, ``<queue>\\x06\\x163`` ... | kombu's lists of one queue, by priority step (0 first) |
| ``unacked`` | delivery tag -> ``[payload, exchange, routing_key]`` |
| ``unacked_index`` | delivery tag -> time taken |

``ack`` removes tags from both; ``restore_due`` puts back what was taken more
than ``visibility_timeout`` seconds ago (kombu's ``restore_by_tag``, one WATCH
transaction per message). kombu's ``restore_visible`` is not used: under
gevent it restores every unacknowledged message, including those that live
Celery workers hold.

kombu's ``global_keyprefix`` transport option is honoured: every key above
is read and written under the prefix, as kombu's ``PrefixedStrictRedis``
does, so Celery workers and clients with the same option share them.
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import redis

__all__ = ("RedisFetcher", "PRIORITY_STEPS")

#: kombu's Redis priority steps and the separator of the lists that hold them
PRIORITY_STEPS = (0, 3, 6, 9)
_SEP = "\x06\x16"

# KEYS[1] = unacked, KEYS[2] = unacked_index, KEYS[3..] = the queue's lists, first served first.
# ARGV[1] = how many messages at most, ARGV[2] = now. Returns the payloads taken (raw JSON).
_FETCH = """
local out = {}
local n = tonumber(ARGV[1])
for i = 3, #KEYS do
  while #out < n do
    local m = redis.call('RPOP', KEYS[i])
    if not m then break end
    local ok, p = pcall(cjson.decode, m)
    local tag, ex, rk = nil, '', ''
    if ok and type(p) == 'table' and type(p['properties']) == 'table' then
      tag = p['properties']['delivery_tag']
      local info = p['properties']['delivery_info']
      if type(info) == 'table' then
        if type(info['exchange']) == 'string' then ex = info['exchange'] end
        if type(info['routing_key']) == 'string' then rk = info['routing_key'] end
      end
    end
    if type(tag) == 'string' then
      redis.call('ZADD', KEYS[2], ARGV[2], tag)
      redis.call('HSET', KEYS[1], tag, '[' .. m .. ', ' .. cjson.encode(ex) .. ', ' .. cjson.encode(rk) .. ']')
    end
    table.insert(out, m)
  end
end
return out
"""


class RedisFetcher:
    """Batch taker of one kombu Redis broker (``broker_url``)."""

    def __init__(self, url: str, visibility_timeout: float = 3600.0, global_keyprefix: str = "") -> None:
        self.client = redis.Redis.from_url(url)
        self.visibility_timeout = float(visibility_timeout)
        self.prefix = str(global_keyprefix or "")
        self.unacked_key = self.prefix + "unacked"
        self.unacked_index_key = self.prefix + "unacked_index"
        self._fetch = self.client.register_script(_FETCH)

    def fetch(self, queue: str, count: int) -> list[bytes]:
        """Up to ``count`` raw payloads of ``queue``, each recorded as unacknowledged in the same step.

        A payload with no delivery tag (not kombu's) is taken without a record: the caller dead-letters it."""
        lists = [queue] + [f"{queue}{_SEP}{p}" for p in PRIORITY_STEPS[1:]]
        keys = [self.unacked_key, self.unacked_index_key] + [self.prefix + name for name in lists]
        return list(self._fetch(keys=keys, args=[int(count), time.time()]))

    def ack(self, tags: Sequence[str]) -> None:
        """Forget ``tags`` (one round trip)."""
        tags = [t for t in tags if t]
        if tags:
            pipe = self.client.pipeline(transaction=False)
            pipe.zrem(self.unacked_index_key, *tags)
            pipe.hdel(self.unacked_key, *tags)
            pipe.execute()

    def restore_due(self, qos: Any, limit: int = 1000) -> int:
        """Put back (kombu's ``qos.restore_by_tag``) messages taken over ``visibility_timeout`` s ago."""
        ceil = time.time() - self.visibility_timeout
        tags = self.client.zrangebyscore(self.unacked_index_key, 0, ceil, start=0, num=limit)
        # kombu's own (prefixing) client when there is a prefix: restore_by_tag names keys without it
        client = None if self.prefix else self.client
        for tag in tags:
            qos.restore_by_tag(tag.decode() if isinstance(tag, bytes) else tag, client=client)
        return len(tags)

    def close(self) -> None:
        self.client.close()
