"""The store contract suite: every test here runs against every store, through the ``store`` fixture.

``store`` is parametrized over the stores mrqc ships ("redis": a
``RedisJobStore`` on this test's key prefix of the test Redis; "memory": a
fresh ``MemoryJobStore``; "sentinel": ``SentinelJobStore`` on a session-wide
primary + replica + 3 sentinels, WAITing for the replica; "cluster": ``ClusterJobStore`` on a
session-wide 3-master Redis Cluster), as kombu's, dramatiq's and huey's backend suites
do. Another store (MongoDB) adds one parameter here and passes the same tests. Times passed to the store are real epoch times; TTLs are
small and waited for with ``wait_for``, never slept on.
"""
from __future__ import annotations

import threading

import time
import uuid
from typing import Any, Iterator

import pytest

from mrqcore.store import open_store
from mrqcore.store.base import Finish, JobSpec, JobStore

from tests.redis_server import shared_cluster, shared_sentinel_set  # noqa: F401 - fixtures

STORES = ("redis", "memory", "sentinel", "cluster")


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest) -> str:
    """The URL of each store under test ("sentinel": the Redis store through a session's sentinel set)."""
    if request.param == "sentinel":
        return request.getfixturevalue("shared_sentinel_set").url(query="min_replicas=1")
    if request.param == "cluster":
        return request.getfixturevalue("shared_cluster").url()
    return "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")


@pytest.fixture
def store(store_url: str, request: pytest.FixtureRequest) -> Iterator[JobStore]:
    """Each store, opened the way a runtime opens it (``open_store`` on its URL and a fresh prefix)."""
    prefix = request.getfixturevalue("prefix") if not store_url.startswith("memory:") \
        else f"test-{uuid.uuid4().hex[:10]}:"
    made = open_store(store_url, prefix)
    yield made
    if "+cluster:" in store_url:  # the prefix fixture cleans the test Redis only
        made.clear()
    made.close()


def spec(job_id: str | None = None, queue: str = "q", due: float = 0.0, **fields: str) -> JobSpec:
    """A job to queue, with a task path unless ``fields`` give one."""
    return JobSpec(job_id or new_id(), queue, {"path": "tests.tasks.noop", "retry_count": "0", **fields}, due)


def finish(job_id: str, status: str, ttl: int = 0, due: float | None = None, log: list[str] | None = None,
           **fields: str) -> Finish:
    """A finish as the worker builds it: the status is also one of the fields written."""
    return Finish(job_id, status, {"status": status, "dateupdated": repr(time.time()), **fields}, ttl,
                  list(log or ()), due)


def new_id() -> str:
    return str(uuid.uuid4())


def queued(store: JobStore, *specs: JobSpec, now: float | None = None) -> list[str]:
    """Enqueue ``specs`` (none may be skipped); returns their ids."""
    assert store.enqueue(list(specs), time.time() if now is None else now) == []
    return [s.id for s in specs]


def started(store: JobStore, worker: str, *specs: JobSpec) -> list[str]:
    """Enqueue ``specs`` on their queues and have ``worker`` dequeue them all."""
    ids = queued(store, *specs)
    queues = list(dict.fromkeys(s.queue for s in specs))
    got = [job_id for job_id, _ in store.dequeue(worker, queues, len(ids), time.time())]
    assert sorted(got) == sorted(ids)
    return ids


def status_of(store: JobStore, job_id: str) -> Any:
    return (store.get(job_id, ("status",)) or {}).get("status")


def run_together(target, n: int = 2) -> list:
    """Call ``target()`` from ``n`` threads released at once; returns their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait(10)
        results[i] = target()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results
