"""Issue 9 item 12, Celery side: ``apply_async(task_id=X)`` twice queues the task once."""
from __future__ import annotations


def test_apply_async_with_the_same_task_id_queues_once(app, runtime, run_burst):
    from tests.compat.proj_tasks import add
    first = add.apply_async((20, 22), task_id="celery-once-1")
    second = add.apply_async((20, 22), task_id="celery-once-1")
    assert first.id == second.id == "celery-once-1"
    queue = runtime.store.get("celery-once-1", ["queue"])["queue"]
    assert runtime.store.client.lrange(runtime.keys.queue(queue), 0, -1) == ["celery-once-1"]
    run_burst("-A", "tests.compat.proj", queue)
    assert first.get(timeout=10) == 42
    assert runtime.store.client.llen(runtime.keys.queue(queue)) == 0
