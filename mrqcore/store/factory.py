"""``open_store``: the one place a URL scheme picks a store class.

| scheme | store | module (imported on first use) |
|---|---|---|
| ``redis://``, ``rediss://``, ``unix://`` | ``RedisJobStore`` | ``mrqcore.store.redis`` |
| ``redis+sentinel://``, ``sentinel://`` | ``SentinelJobStore`` | ``mrqcore.store.redis_sentinel`` |
| ``redis+cluster://``, ``rediss+cluster://`` | ``ClusterJobStore`` | ``mrqcore.store.redis_cluster`` |
| ``memory://`` | ``MemoryJobStore`` | ``mrqcore.store.memory`` |

Adding a store: write ``mrqcore/store/<name>.py`` implementing ``JobStore``,
add its schemes to ``STORES`` below, and run the contract suite on it.
"""
from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlparse

from ..config import _suggest
from ..exceptions import ConfigError
from ..urls import mask_url
from .base import JobStore

#: scheme -> "module:Class" (imported lazily: a store's client library loads only when it is used)
STORES: dict[str, str] = {
    "redis": "mrqcore.store.redis:RedisJobStore",
    "rediss": "mrqcore.store.redis:RedisJobStore",
    "unix": "mrqcore.store.redis:RedisJobStore",
    "redis+sentinel": "mrqcore.store.redis_sentinel:SentinelJobStore",
    "sentinel": "mrqcore.store.redis_sentinel:SentinelJobStore",
    "redis+cluster": "mrqcore.store.redis_cluster:ClusterJobStore",
    "rediss+cluster": "mrqcore.store.redis_cluster:ClusterJobStore",
    "memory": "mrqcore.store.memory:MemoryJobStore",
}


def open_store(url: str, prefix: str, setting: str = "redis", **options: Any) -> JobStore:
    """The store for ``url`` (its scheme picks the class), with keys under ``prefix``.

    ``options`` go to the store class's ``from_url(url, prefix, **options)``.
    An unknown or missing scheme is a ConfigError naming ``setting`` (the
    setting the URL came from), with a did-you-mean hint on a typo.
    """
    if not isinstance(url, str) or not url:
        raise ConfigError(setting, f"must be a store URL such as redis://host:6379/0, got {mask_url(url)!r}")
    scheme = urlparse(url).scheme if "://" in url else ""
    target = STORES.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in STORES)
        raise ConfigError(setting, f"unknown store URL scheme {scheme!r} in {mask_url(url)!r}"
                                   f"{_suggest(scheme, STORES)}; known: {known}")
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.from_url(url, prefix, **options)
