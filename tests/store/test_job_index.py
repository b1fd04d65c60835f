"""The job index primitives (``job_index_page/counts/size/prune``) of the store contract.

Part of the contract suite (both stores). Jobs go through enqueue, dequeue and finish here as a
worker would run them: on Redis the hot-path scripts write the index.
"""
from __future__ import annotations

import time
import uuid

from mrqcore.store.base import Finish, JobSpec
from mrqcore.store.redis import RedisJobStore


def _queue(store, n, queue="idx", now=None):
    ids = [uuid.uuid4().hex for _ in range(n)]
    store.enqueue([JobSpec(i, queue, {"path": "tests.tasks.basic.Add", "params": "{}"}) for i in ids],
                  time.time() if now is None else now)
    return ids


def _run(store, ids, status, queue="idx"):
    taken = store.dequeue("w1", [queue], len(ids), time.time())
    assert sorted(i for i, _ in taken) == sorted(ids)
    store.finish("w1", [Finish(i, status, {"status": status, "dateupdated": repr(time.time())})
                        for i in ids])


def test_every_queued_job_is_listed_newest_first_in_pages(store):
    old = _queue(store, 3, now=1000.0)
    new = _queue(store, 2, now=2000.0)
    rows, nxt = store.job_index_page(None, 0, 2, ("status", "queue"))
    assert sorted(i for i, _ in rows) == sorted(new) and nxt == 2
    assert all(r == {"status": "queued", "queue": "idx"} for _, r in rows)
    rows, nxt = store.job_index_page(None, nxt, 10, ("queue",))
    assert sorted(i for i, _ in rows) == sorted(old) and nxt is None  # the end of the index
    assert all("status" not in r for _, r in rows)
    rows, nxt = store.job_index_page(None, 2, 3, ("queue",))
    assert len(rows) == 3 and nxt == 5  # a full page: there may be more
    assert store.job_index_page(None, 5, 10, ("queue",)) == ([], None)
    assert store.job_index_size(None) == 5


def test_status_index_follows_finish_requeue_and_cancel(store):
    failed, ok = _queue(store, 2), _queue(store, 1)
    _run(store, failed, "failed")
    _run(store, ok, "success")
    rows, _ = store.job_index_page("failed", 0, 10, ("status",))
    assert sorted(i for i, _ in rows) == sorted(failed)
    assert store.job_index_size("failed") == 2 and store.job_index_size("success") == 1
    assert store.requeue(failed[0], time.time(), note="t") == "failed"
    assert store.job_index_size("failed") == 1
    assert [i for i, _ in store.job_index_page("failed", 0, 10, ())[0]] == [failed[1]]
    assert store.cancel(failed[0], time.time(), 0) == "queued"
    assert [i for i, _ in store.job_index_page("cancel", 0, 10, ("status",))[0]] == [failed[0]]


def test_stale_entries_are_dropped_and_offsets_account_for_them(store):
    ids = _queue(store, 4, now=3000.0)
    store.delete(ids[:2])
    rows, nxt = store.job_index_page(None, 0, 4, ("status",))
    assert sorted(i for i, _ in rows) == sorted(ids[2:])
    if isinstance(store, RedisJobStore):  # the page read 4 entries, 2 of them stale: they left the index
        assert nxt == 2
    else:  # the memory store lists live records only: this page reached the end
        assert nxt is None
    assert store.job_index_size(None) == 2
    store.delete(ids[2:3])
    dropped = store.job_index_prune(None, 10)
    assert store.job_index_size(None) == 1
    # Redis keeps index entries until pruned; the memory store reads its live records, never stale.
    assert dropped == (1 if isinstance(store, RedisJobStore) else 0)


def test_counts_by_time_window(store):
    _queue(store, 2, now=100.0)
    _queue(store, 3, now=150.0)
    _queue(store, 1, now=200.0)
    assert store.job_index_counts(None, [100.0, 150.0, 200.0, 250.0]) == [2, 3, 1]
    assert store.job_index_counts("failed", [0.0, 1e12]) == [0]
    assert store.job_index_counts(None, [1.0]) == []
