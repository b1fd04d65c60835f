"""The Celery canvas tests (tests/compat/test_canvas.py) again, with the runtime and workers on a Redis Cluster.

The tests are imported unchanged; ``config_values`` is overridden so the
runtime, the app and every ``mrqc worker`` subprocess use the session's
3-master cluster (``redis+cluster://``). A chord's barrier and a group's values
are keys of their own slots, apart from the queues' slots that hold the jobs,
so releasing held steps and completing chords cross shards.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from tests.compat.conftest import app, compat_worker, key  # noqa: F401 - fixtures of the imported tests
from tests.compat.test_canvas import *  # noqa: F401,F403 - the tests themselves
from tests.redis_server import shared_cluster  # noqa: F401 - fixture


@pytest.fixture
def config_values(shared_cluster: Any, prefix: str) -> dict[str, Any]:  # noqa: F811
    """tests/conftest.py's settings, with the store on the session's cluster."""
    return {"redis": shared_cluster.url(), "redis_prefix": prefix, "poll_interval": 0.2,
            "heartbeat_interval": 0.5}


@pytest.fixture(autouse=True)
def _cluster_cleanup(runtime: Any) -> Iterator[None]:
    """The prefix fixture cleans the test Redis only: delete this test's keys from the cluster."""
    from mrqcore.store.redis_cluster import ClusterJobStore
    assert isinstance(runtime.store, ClusterJobStore)
    yield
    runtime.store.clear()
