"""Redis Cluster URLs: ``redis+cluster://h1:7000,h2:7001/`` parsed into a redis-py ``RedisCluster`` client.

Forms and query parameters: ``mrqcore.store.redis_cluster`` (module docstring) and docs/scaling.md.
A bad URL is a ConfigError naming the ``redis`` setting and what is wrong, with the password masked.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

from redis.cluster import ClusterNode, RedisCluster

from ..config import _suggest
from ..exceptions import ConfigError
from ..urls import mask_url

#: URL schemes of the cluster store (``mrqcore.store.open_store`` picks it for them)
SCHEMES = ("redis+cluster", "rediss+cluster")
_FLOAT_PARAMS = ("socket_timeout", "socket_connect_timeout")
_STR_PARAMS = ("ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
KNOWN_PARAMS = _FLOAT_PARAMS + _STR_PARAMS


def parse_cluster_url(url: str) -> dict[str, Any]:
    """RedisCluster keyword arguments for ``url`` (forms in the module docstring); ConfigError naming ``redis``."""
    shown = mask_url(url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ConfigError("redis", f"{shown!r}: a cluster URL starts with redis+cluster:// or rediss+cluster://")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    if path.strip("/") not in ("", "0"):
        raise ConfigError("redis", f"{shown!r}: a Redis Cluster has database 0 only; the path must be empty, / or /0, "
                                   f"got /{path}")
    username = password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, _, secret = userinfo.partition(":")
        username, password = unquote(user) or None, unquote(secret) or None
    nodes = []
    for host_port in filter(None, (part.strip() for part in netloc.split(","))):
        host, colon, port = host_port.rpartition(":")
        if not colon or not host.strip("[]"):
            raise ConfigError("redis", f"{shown!r}: each node must be host:port, got {host_port!r}")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError("redis", f"{shown!r}: the port of {host_port!r} must be a number in 1..65535")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    if not nodes:
        raise ConfigError("redis", f"{shown!r}: no node host:port given (redis+cluster://h1:7000,h2:7001/)")
    options: dict[str, Any] = {"startup_nodes": nodes}
    if scheme == "rediss+cluster":
        options["ssl"] = True
    if username:
        options["username"] = username
    if password:
        options["password"] = password
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in KNOWN_PARAMS:
            raise ConfigError("redis", f"{shown!r}: unknown query parameter {key!r}"
                                       f"{_suggest(key, KNOWN_PARAMS)}; known: {', '.join(KNOWN_PARAMS)}")
        if key in _FLOAT_PARAMS:
            try:
                options[key] = float(value)
            except ValueError:
                raise ConfigError("redis", f"{shown!r}: {key} must be a number of seconds, got {value!r}") from None
        else:
            options[key] = value
    return options


def connect_cluster(url: str, **options: Any) -> RedisCluster:
    """A decoded-responses RedisCluster client for ``url`` (ConfigError on a bad URL).

    The same client options as ``mrqcore.store.redis.connect`` (decoded
    responses, ``encoding_errors="surrogateescape"``); ``options`` override the URL's.
    """
    kwargs = {**parse_cluster_url(url), **options}
    kwargs.setdefault("encoding_errors", "surrogateescape")
    try:
        return RedisCluster(decode_responses=True, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError("redis", f"cannot use the cluster options of {mask_url(url)!r}: {mask_url(str(exc))}") \
            from exc
