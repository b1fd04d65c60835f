"""Contract: priority steps (the record field ``priority``, ``mrqcore.store.base.PRIORITY_FIELD``).

A job whose record has ``priority`` = a step > 0 waits on that step's list of its queue; dequeue
serves every queue's own list first, then step lists by increasing step (queues in order within a
step), and the step survives every way a job goes back to wait.
"""
from __future__ import annotations

import time

from mrqcore.store.base import HOLD_DUE, JobStore, priority_step
from tests.store.conftest import finish, queued, spec, started


def _order(store: JobStore, queues: list[str], count: int = 50) -> list[str]:
    return [job_id for job_id, _ in store.dequeue("w", queues, count, time.time())]


def test_dequeue_serves_own_lists_then_steps_by_increasing_step(store: JobStore) -> None:
    late = queued(store, spec("a9", priority="9"), spec("a3", priority="3"), spec("b3", queue="b", priority="3"))
    plain = queued(store, spec("a0"), spec("b0", queue="b"), spec("a3bis", priority="3"), spec("b6", queue="b",
                                                                                               priority="6"))
    assert late and plain
    assert _order(store, ["q", "b"]) == ["a0", "b0", "a3", "a3bis", "b3", "b6", "a9"]
    assert _order(store, ["q", "b"]) == []


def test_a_batch_stops_where_it_is_full(store: JobStore) -> None:
    queued(store, spec("s3", priority="3"), spec("own1"), spec("own2"))
    assert _order(store, ["q"], count=2) == ["own1", "own2"]
    assert _order(store, ["q"], count=2) == ["s3"]


def test_queue_size_purge_and_cancel_cover_every_step(store: JobStore) -> None:
    queued(store, spec("x"), spec("y", priority="3"), spec("z", priority="6"), spec("other", queue="kept",
                                                                                    priority="3"))
    assert store.queue_size("q") == 3
    assert store.cancel("y", time.time(), 0) == "queued"
    assert store.queue_size("q") == 2
    assert store.purge_queue("q") == 2
    assert store.queue_size("q") == 0 and store.queue_size("kept") == 1
    assert _order(store, ["q"]) == []
    assert _order(store, ["kept"]) == ["other"]


def test_the_step_survives_a_delay_a_release_and_a_requeue(store: JobStore) -> None:
    now = time.time()
    queued(store, spec("due", due=now - 1, priority="3"), spec("held", due=HOLD_DUE, priority="3"))
    store.promote_due(time.time())
    assert store.release_held("held", time.time(), {})
    queued(store, spec("own"))
    assert _order(store, ["q"]) == ["own", "due", "held"]
    # a retry (finish with a due time) comes back on its step, as does a requeue of a finished job
    store.finish("w", [finish("due", "retry", due=time.time() - 1)])
    store.finish("w", [finish("held", "success")])
    store.promote_due(time.time())
    assert store.requeue("held", time.time()) == "success"
    queued(store, spec("own2"))
    assert _order(store, ["q"]) == ["own2", "due", "held"]


def test_a_paused_queue_is_skipped_on_every_step(store: JobStore) -> None:
    started(store, "w0", spec("warm"))
    queued(store, spec("p3", priority="3"), spec("o3", queue="open", priority="3"))
    store.pause_queue("q")
    assert _order(store, ["q", "open"]) == ["o3"]
    store.resume_queue("q")
    assert _order(store, ["q", "open"]) == ["p3"]


def test_priority_step_reads_the_field() -> None:
    assert [priority_step(v) for v in (None, "", "0", "3", "255", "256", "-1", "x")] == [0, 0, 0, 3, 255, 0, 0, 0]
