"""The store is the only door to Redis, and ``open_store`` is the only place a URL picks a store.

The door: no module of mrqcore (outside ``mrqcore/store/``), compat, adapters or
migration imports redis-py or calls a Redis client. The check reads the source
with ``ast`` (no import, so it also covers modules no test imports). Allowed
by path only: ``mrqcore/store/`` and the adapters' own transports
(``adapters/transports/``: the Celery wire's connections to Celery's broker
and result backend). ``<...>.config.redis`` is the URL setting, not a
client, and is allowed.
"""
from __future__ import annotations

import ast
import os
from typing import Any, Iterator

import pytest

from mrqcore.exceptions import ConfigError
from mrqcore.store import JobStore, open_store
from mrqcore.store.redis import RedisJobStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: package folder -> folders under it allowed to talk to Redis
PACKAGES = {"mrqcore": ("mrqcore/store/",), "compat": (), "adapters": ("adapters/transports/",),
            "migration": ()}
#: method names only a Redis client (or its pipeline) has
CLIENT_CALLS = {"pipeline", "register_script", "evalsha", "execute_command", "pubsub"}


def _sources(package: str) -> Iterator[str]:
    allowed = PACKAGES[package]
    for folder, _, files in os.walk(os.path.join(ROOT, package)):
        for name in sorted(files):
            path = os.path.relpath(os.path.join(folder, name), ROOT).replace(os.sep, "/")
            if name.endswith(".py") and not any(path.startswith(a) for a in allowed):
                yield path


def _is_config(node: ast.expr) -> bool:
    """``config`` or ``<...>.config``: ``config.redis`` is the URL setting."""
    return (isinstance(node, ast.Name) and node.id == "config") or \
        (isinstance(node, ast.Attribute) and node.attr == "config")


def _violations(path: str) -> list[str]:
    with open(os.path.join(ROOT, path), encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), filename=path)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "redis" for a in node.names):
            what = "import redis"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "redis":
            what = f"from {node.module} import"
        elif isinstance(node, ast.Attribute):
            if node.attr == "redis" and not _is_config(node.value):
                what = "a .redis attribute (a Redis client)"
            elif node.attr == "client" and isinstance(node.value, ast.Attribute) and node.value.attr == "store":
                what = "store.client (the Redis client)"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in CLIENT_CALLS:
            what = f".{node.func.attr}() (a Redis client call)"
        if what:
            found.append((node.lineno, f"{path}:{node.lineno}: {what}"))
    return [text for _, text in sorted(found)]


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_nothing_outside_the_store_talks_to_redis(package: str) -> None:
    found = [v for path in _sources(package) for v in _violations(path)]
    assert not found, "Redis used outside mrqcore/store/ (go through runtime.store):\n" + "\n".join(found)


def test_the_door_check_sees_a_bypass(tmp_path: Any) -> None:
    # The scan itself must catch each form, or the test above proves nothing.
    source = ("import redis\nfrom redis.client import Pipeline\nruntime.store.client.set('k', 1)\n"
              "runtime.store.client.get('k')\npipe = c.pipeline()\nc.register_script('x')\n"
              "url = runtime.config.redis\n")
    path = tmp_path / "bypass.py"
    path.write_text(source)
    found = _violations(str(path))
    assert [int(line.split(":")[1]) for line in found] == [1, 2, 3, 4, 5, 6], found


# --- open_store -------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["redis", "rediss", "unix"])
def test_open_store_picks_redis_for_its_schemes(scheme: str) -> None:
    url = {"redis": "redis://127.0.0.1:6379/0", "rediss": "rediss://127.0.0.1:6380/0",
           "unix": "unix:///tmp/mrqc-test.sock?db=0"}[scheme]
    store = open_store(url, "door-test:")
    try:
        assert isinstance(store, RedisJobStore) and isinstance(store, JobStore)
        assert store.prefix == "door-test:"
    finally:
        store.close()


def test_open_store_talks_to_the_server(redis_url: str, prefix: str) -> None:
    store = open_store(redis_url, prefix)
    try:
        store.ping()
        store.pause_queue("door")
        assert store.paused_queues() == {"door"}
    finally:
        store.close()


@pytest.mark.parametrize("url, hint", [("reddis://127.0.0.1:6379/0", "did you mean 'redis'?"),
                                       ("memroy://", "did you mean 'memory'?"),
                                       ("mongodb://localhost/mrqc", "known: redis://")])
def test_open_store_refuses_an_unknown_scheme(url: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(url, "p:")
    message = str(info.value)
    assert info.value.setting == "redis" and url in message and hint in message


def test_open_store_names_the_setting_the_url_came_from() -> None:
    with pytest.raises(ConfigError) as info:
        open_store("127.0.0.1:6379", "p:", setting="broker_url")
    assert info.value.setting == "broker_url" and "'127.0.0.1:6379'" in str(info.value)


def test_store_declares_its_errors() -> None:
    import redis
    assert set(RedisJobStore.connection_errors) == {redis.ConnectionError, redis.TimeoutError}
    assert RedisJobStore.backend_errors == (redis.RedisError,)
