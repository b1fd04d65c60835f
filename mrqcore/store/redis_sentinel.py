"""Redis Sentinel: the Redis store on whichever server the sentinels name as master.

Not a store of its own: ``SentinelJobStore`` is ``RedisJobStore`` (same keys,
same Lua, same contract) on a client from redis-py's
``redis.sentinel.Sentinel(...).master_for(name)``. That client's pool asks the
sentinels for the master on every new connection and drops its connections
when a server answers that it is a replica, so after a failover the next
command (a worker's retry, a waiter's resubscribe) lands on the new master.

URL forms (``redis`` setting, ``mrqc worker --redis``, Celery's ``broker_url``):

| form | meaning |
|---|---|
| ``redis+sentinel://h1:26379,h2:26379,h3:26379/mymaster/0`` | sentinels, master name, db (default 0) |
| ``sentinel://...`` | the same |
| ``redis+sentinel://:pw@h1:26379,.../mymaster/0`` | ``pw``: the master's (and replicas') password |
| ``redis+sentinel://user:pw@...`` | ACL user and password of the master |
| ``sentinel://h1:26379;sentinel://h2:26379/0?master_name=mymaster`` | kombu's form: ``;``-joined, db in the path |

Query parameters (unknown ones are a ConfigError naming the ``redis`` setting):

| parameter | meaning |
|---|---|
| ``master_name`` | the master's name (then the path holds only the db) |
| ``db`` | the database number (instead of the path) |
| ``sentinel_password``, ``sentinel_username`` | credentials of the sentinels themselves |
| ``min_replicas`` | after each enqueue and finish, ``WAIT min_replicas wait_timeout_ms`` (default 0: no WAIT) |
| ``wait_timeout_ms`` | the WAIT's timeout in milliseconds (default 1000) |
| ``socket_timeout``, ``socket_connect_timeout`` | seconds, for the master connections |
| ``sentinel_socket_timeout`` | seconds, for the sentinel connections (default 0.5) |

**WAIT.** Redis replicates asynchronously: a write the master acknowledged
may not be on any replica when the master dies, and the replica promoted in
its place does not have it. With ``min_replicas=N`` the store waits, after
each enqueue and each batch of finishes, until N replicas have the write (or
``wait_timeout_ms`` passes: then it logs a warning, at most every 10 s, and
returns; the write stays on the master only). Run at least two replicas if
writes must stay covered after a failover: the promoted replica leaves one
fewer, and with none left every WAIT waits its whole timeout. The cost is
one round trip to the replicas per enqueue call and per finish batch.
Dequeues, heartbeats and the other writes (raw queues, canvas bookkeeping,
requeues, cancels) do not WAIT: a dequeue lost in a failover runs its job
again (a duplicate, never a loss); a lost heartbeat is rewritten by the next.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Sequence
from urllib.parse import parse_qsl, unquote

import redis
from redis.sentinel import Sentinel

from ..config import _suggest
from ..exceptions import ConfigError
from ..urls import mask_url
from .base import Finish, JobSpec
from .redis import RedisJobStore, _pools

#: URL schemes this store serves (``mrqcore.store.open_store`` picks it for them)
SCHEMES = ("redis+sentinel", "sentinel")

logger = logging.getLogger("mrqc.store")

_INT_PARAMS = ("db", "min_replicas", "wait_timeout_ms")
_FLOAT_PARAMS = ("socket_timeout", "socket_connect_timeout", "sentinel_socket_timeout")
_STR_PARAMS = ("master_name", "sentinel_password", "sentinel_username")
KNOWN_PARAMS = _INT_PARAMS + _FLOAT_PARAMS + _STR_PARAMS
#: the ";" between the URLs of kombu's list form (not one inside a password)
_NEXT_URL = re.compile(r";(?=[a-zA-Z][a-zA-Z0-9+.-]*://)")


@dataclass
class SentinelURL:
    """A parsed Sentinel URL (``parse_sentinel_url``)."""

    sentinels: list[tuple[str, int]]
    master_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    min_replicas: int = 0
    wait_timeout_ms: int = 1000
    #: redis-py connection options for the master connections
    options: dict[str, Any] = field(default_factory=dict)
    sentinel_socket_timeout: float = 0.5


def parse_sentinel_url(url: str) -> SentinelURL:
    """The sentinels, master name, db, credentials and options of ``url`` (forms in the module docstring).

    Raises ConfigError (setting ``redis``) naming what is wrong, with the
    password masked.
    """
    shown = mask_url(url)
    parts = [p for p in _NEXT_URL.split(url) if p.strip()]
    sentinels: list[tuple[str, int]] = []
    params: dict[str, str] = {}
    path = ""
    username = password = None
    for part in parts:
        scheme, sep, rest = part.strip().partition("://")
        if not sep or scheme not in SCHEMES:
            raise ConfigError("redis", f"{shown!r}: each part must start with redis+sentinel:// or sentinel://")
        rest, _, query = rest.partition("?")
        netloc, slash, part_path = rest.partition("/")
        if slash and part_path:
            path = part_path
        if "@" in netloc:
            userinfo, _, netloc = netloc.rpartition("@")
            user, _, secret = userinfo.partition(":")
            username, password = unquote(user) or None, unquote(secret) or None
        for host_port in filter(None, netloc.split(",")):
            sentinels.append(_host_port(host_port, shown))
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key not in KNOWN_PARAMS:
                raise ConfigError("redis", f"{shown!r}: unknown query parameter {key!r}"
                                           f"{_suggest(key, KNOWN_PARAMS)}; known: {', '.join(KNOWN_PARAMS)}")
            params[key] = value
    if not sentinels:
        raise ConfigError("redis", f"{shown!r}: no sentinel host:port given")
    segments = [unquote(s) for s in path.strip("/").split("/") if s]
    master_name = params.get("master_name")
    if master_name:
        db_text = segments[0] if segments else params.get("db", "0")
        if len(segments) > 1:
            raise ConfigError("redis", f"{shown!r}: with master_name= the path is only /db")
    else:
        if not segments:
            raise ConfigError("redis", f"{shown!r}: no master name: use .../mymaster/0 or ?master_name=mymaster")
        if len(segments) > 2:
            raise ConfigError("redis", f"{shown!r}: the path is /master_name/db, got {len(segments)} parts")
        master_name = segments[0]
        db_text = segments[1] if len(segments) > 1 else params.get("db", "0")
    parsed = SentinelURL(sentinels, master_name, _number(int, "db", db_text, shown), username, password,
                         params.get("sentinel_username") or None, params.get("sentinel_password") or None)
    for name in ("min_replicas", "wait_timeout_ms"):
        if name in params:
            value = _number(int, name, params[name], shown)
            setattr(parsed, name, value)
    for name in ("socket_timeout", "socket_connect_timeout"):
        if name in params:
            parsed.options[name] = _number(float, name, params[name], shown)
    if "sentinel_socket_timeout" in params:
        parsed.sentinel_socket_timeout = _number(float, "sentinel_socket_timeout",
                                                 params["sentinel_socket_timeout"], shown)
    return parsed


def connect_sentinel(url: str, **options: Any) -> redis.Redis:
    """A decoded-responses client on the master the sentinels of ``url`` name (ConfigError on a bad URL).

    The same client options as ``mrqcore.store.redis.connect`` (decoded
    responses, ``encoding_errors="surrogateescape"``, a 30 s health check);
    ``options`` (redis-py connection options) override the URL's.
    """
    parsed = parse_sentinel_url(url)
    return _master_client(parsed, options)[0]


class SentinelJobStore(RedisJobStore):
    """``RedisJobStore`` on a Sentinel-managed master; optionally WAITs for replicas after enqueue and finish."""

    def __init__(self, client: redis.Redis, prefix: str, min_replicas: int = 0, wait_timeout_ms: int = 1000,
                 sentinel: Sentinel | None = None) -> None:
        super().__init__(client, prefix)
        self.min_replicas = min_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._sentinel = sentinel
        #: WAITs that got fewer replicas than asked, and when that was last logged
        self._short_writes = 0
        self._short_logged_at = float("-inf")
        #: writes (enqueue calls, finish batches) whose WAIT came back short since this store opened: each
        #: is on the master only, in the window a failover can lose (docs/scaling.md); read it to know which.
        self.short_writes_total = 0

    @classmethod
    def from_url(cls, url: str, prefix: str, **options: Any) -> "SentinelJobStore":
        """A store on the master named by ``url``'s sentinels (forms in the module docstring)."""
        parsed = parse_sentinel_url(url)
        client, sentinel = _master_client(parsed, options)
        return cls(client, prefix, parsed.min_replicas, parsed.wait_timeout_ms, sentinel)

    def close(self) -> None:
        super().close()
        if self._sentinel is not None:
            for client in self._sentinel.sentinels:
                client.connection_pool.disconnect()

    def enqueue(self, specs: Sequence[JobSpec], now: float) -> list[str]:
        skipped = super().enqueue(specs, now)
        self._wait_replicas("enqueue")
        return skipped

    def finish(self, worker_id: str, finishes: Sequence[Finish]) -> None:
        super().finish(worker_id, finishes)
        if finishes:
            self._wait_replicas("finish")

    def _wait_replicas(self, what: str) -> None:
        """WAIT for ``min_replicas`` replicas; fewer in time is a warning (the write is on the master).

        A connection error here rises: the caller does not know whether the
        write survived the failover, and retries it (enqueue skips an id that
        already exists; finish is safe to redo).
        """
        if self.min_replicas <= 0:
            return
        acked = int(self.client.wait(self.min_replicas, self.wait_timeout_ms))
        if acked >= self.min_replicas:
            return
        self._short_writes += 1
        self.short_writes_total += 1
        now = time.monotonic()
        if now - self._short_logged_at >= 10.0:  # a master without replicas would log every write
            logger.warning("%s: only %d of %d replicas acknowledged within %d ms; the write is on the master "
                           "only and a failover now would lose it (%d such writes since the last warning)",
                           what, acked, self.min_replicas, self.wait_timeout_ms, self._short_writes)
            self._short_logged_at, self._short_writes = now, 0


# --- helpers ------------------------------------------------------------------------


def _master_client(parsed: SentinelURL, options: dict[str, Any]) -> tuple[redis.Redis, Sentinel]:
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": parsed.sentinel_socket_timeout,
                                       "socket_connect_timeout": parsed.sentinel_socket_timeout}
    if parsed.sentinel_password:
        sentinel_kwargs["password"] = parsed.sentinel_password
    if parsed.sentinel_username:
        sentinel_kwargs["username"] = parsed.sentinel_username
    client_options: dict[str, Any] = {"db": parsed.db, **parsed.options, **options}
    if parsed.password:
        client_options.setdefault("password", parsed.password)
    if parsed.username:
        client_options.setdefault("username", parsed.username)
    client_options.setdefault("health_check_interval", 30)
    # surrogateescape: as in redis.connect, a byte that is not UTF-8 fails only the job holding it
    client_options.setdefault("encoding_errors", "surrogateescape")
    try:
        sentinel = Sentinel(parsed.sentinels, sentinel_kwargs=sentinel_kwargs)
        client = sentinel.master_for(parsed.master_name, decode_responses=True, **client_options)
    except (ValueError, TypeError) as exc:
        raise ConfigError("redis", f"cannot use the sentinel options: {mask_url(str(exc))}") from exc
    _pools.append(client.connection_pool)
    return client, sentinel


def _host_port(text: str, shown: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "26379")
    host = host.strip("[]")
    if not host:
        raise ConfigError("redis", f"{shown!r}: empty sentinel host in {text!r}")
    return host, _number(int, "sentinel port", port, shown)


def _number(kind: type, name: str, text: str, shown: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError("redis", f"{shown!r}: {name} must be a {'number' if kind is float else 'whole number'}, "
                                   f"got {text!r}") from None
    if value < 0:
        raise ConfigError("redis", f"{shown!r}: {name} must be >= 0, got {text!r}")
    return value
