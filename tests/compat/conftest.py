"""Fixtures for the Celery-compat tests: the test app, and real ``mrqc worker -A`` processes."""
from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from tests.conftest import wait_for

QUEUES = ("compat", "compat-routed", "compat-own", "default")


@pytest.fixture
def app(runtime: Any) -> Any:
    """The test project's app, publishing through this test's runtime (own key prefix)."""
    from tests.compat import proj_tasks  # noqa: F401 - registers the tasks
    from tests.compat.proj import app as proj_app
    proj_app.conf.task_always_eager = False
    proj_app.conf.task_eager_propagates = False
    yield proj_app
    proj_app.conf.task_always_eager = False
    proj_app.conf.task_eager_propagates = False


@pytest.fixture
def key(runtime: Any) -> Callable[[str], str]:
    prefix = runtime.config.redis_prefix
    return lambda name: prefix + "test:" + name


@pytest.fixture
def compat_worker(start_worker: Callable[..., Any], redis_client: Any, key: Callable[[str], str]) -> Callable[..., Any]:
    """Start ``mrqc worker -A tests.compat.proj`` and wait until it sent ``worker_ready``."""

    def start(*extra: str, env: dict[str, str] | None = None, wait_ready: bool = True) -> Any:
        before = redis_client.llen(key("worker-signals"))
        worker = start_worker("-A", "tests.compat.proj", *QUEUES, *extra, env=env)
        if wait_ready:
            wait_for(lambda: redis_client.lrange(key("worker-signals"), before, -1).count("worker_ready") >= 1
                     or worker.proc.poll() is not None, timeout=30, message="worker_ready")
            assert worker.proc.poll() is None, worker.output()
        return worker

    return start


def signals_seen(redis_client: Any, key: Callable[[str], str]) -> list[dict[str, Any]]:
    return [json.loads(x) for x in redis_client.lrange(key("signals"), 0, -1)]
