"""The one Lua script loader of the Redis store, and what every Redis family mixin shares.

Every script lives in ``mrqcore/lua/<name>.lua`` and opens with a comment
listing the keys it touches. ``load_script(client, name)`` reads and
registers a script once per client (redis-py's ``Script`` runs EVALSHA and
falls back to EVAL after a server restart or SCRIPT FLUSH), so callers never
register scripts themselves. ``RedisStoreBase`` is the state every family
mixin of ``RedisJobStore`` works on: ``client``, ``keys``, ``prefix`` and
``_script(name)``. Nothing outside ``mrqcore/store/`` imports this module.
"""
from __future__ import annotations

import functools
import importlib.resources
import threading
import weakref
from typing import Any, Sequence

import redis
from redis.commands.core import Script

from ..keys import Keys
from .base import JobSpec

_registered: "weakref.WeakKeyDictionary[redis.Redis, dict[str, Script]]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def script_text(name: str) -> str:
    """The source of ``mrqcore/lua/<name>.lua`` (read once per process)."""
    return importlib.resources.files("mrqcore").joinpath(f"lua/{name}.lua").read_text()


def load_script(client: redis.Redis, name: str) -> Script:
    """The script ``name`` registered on ``client``, registered on first use only."""
    scripts = _registered.get(client)
    if scripts is None:
        with _lock:
            scripts = _registered.setdefault(client, {})
    script = scripts.get(name)
    if script is None:
        script = scripts[name] = client.register_script(script_text(name))
    return script


class RedisStoreBase:
    """State shared by the Redis family mixins (records, queues, workers, maintenance, raw, workflow)."""

    #: the redis-py client (``decode_responses=True``); ``mrqcore.context.connections.redis``
    #: hands it to user code, the one sanctioned way past the store
    client: redis.Redis
    #: every key name, under ``prefix``
    keys: Keys
    prefix: str

    def _script(self, name: str) -> Any:
        """``mrqcore/lua/<name>.lua`` on this store's client; call it as ``self._script(n)(args=[...])``."""
        return load_script(self.client, name)


def enqueue_args(prefix: str, specs: Sequence[JobSpec], now: float) -> list[Any]:
    """ARGV of ``enqueue.lua`` (the hot path's, and the scheduler's claim's)."""
    args: list[Any] = [prefix, repr(now)]
    for spec in specs:
        args += (spec.id, spec.queue, repr(spec.due) if spec.due else "0", len(spec.fields))
        for name, value in spec.fields.items():
            args += (name, value)
    return args
