"""Calling Celery tasks through a real ``mrqc worker -A``: delay, apply_async options, routing, request."""
from __future__ import annotations

import datetime

import pytest

from mrqcore.job import Job


def test_delay_and_get(app, compat_worker):
    from tests.compat.proj_tasks import add
    compat_worker()
    result = add.delay(2, 3)
    assert result.get(timeout=20) == 5
    assert result.state == "SUCCESS" and result.successful() and result.ready()
    assert result.date_done is not None
    # the job is an ordinary mrqcore job: params are args/kwargs, queue is the app's default queue
    job = Job(result.id).fetch()
    assert job.params == {"args": [2, 3], "kwargs": {}}
    assert job.queue == "compat" and job.status == "success" and job.result == 5


def test_request_fields_and_headers(app, compat_worker):
    from tests.compat.proj_tasks import whoami
    compat_worker()
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    result = whoami.apply_async((1,), {"k": "v"}, task_id="my-id-1", headers={"trace_id": "t-1"},
                                expires=expires)
    seen = result.get(timeout=20)
    assert seen["id"] == "my-id-1" and seen["args"] == [1] and seen["kwargs"] == {"k": "v"}
    assert seen["retries"] == 0 and seen["routing_key"] == "compat" and seen["hostname"]
    assert seen["called_directly"] is False and seen["is_eager"] is False
    assert seen["root_id"] == "my-id-1" and seen["parent_id"] is None
    assert seen["trace_id"] == "t-1"
    assert seen["expires"].startswith(expires.isoformat()[:19])


def test_routing(app, compat_worker):
    from tests.compat.proj_tasks import own_queue, routed
    compat_worker()
    r1, r2, r3 = routed.delay(1), own_queue.delay(2), routed.apply_async((3,), queue="compat-own")
    assert [r.get(timeout=20) for r in (r1, r2, r3)] == [1, 2, 3]
    assert [Job(r.id).fetch().queue for r in (r1, r2, r3)] == ["compat-routed", "compat-own", "compat-own"]


def test_countdown_parks_job_in_redis(app, runtime, compat_worker):
    from tests.compat.proj_tasks import add
    result = add.apply_async((1, 1), countdown=1)
    # no worker yet: the job waits in the scheduled zset, not in any worker's memory
    assert runtime.store.client.zscore(runtime.store.keys.scheduled, result.id) is not None
    assert result.state == "PENDING" and result.exists
    compat_worker()
    assert result.get(timeout=20) == 2


def test_eta(app, compat_worker):
    from tests.compat.proj_tasks import whoami
    compat_worker()
    eta = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=0.5)
    seen = whoami.apply_async(eta=eta).get(timeout=20)
    assert seen["eta"].startswith(eta.isoformat()[:19])


def test_class_based_and_shared_task(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import ClassBased, shared_mul
    compat_worker()
    result = app.tasks["tests.compat.proj_tasks.ClassBased"].delay(4)
    assert result.get(timeout=20) == 40
    assert redis_client.lrange(key("class-on-success"), 0, -1) == [f"{result.id}:40"]
    assert shared_mul.delay(3, 4).get(timeout=20) == 12
    assert isinstance(ClassBased, type)


def test_children_and_parent(app, compat_worker):
    from tests.compat.proj_tasks import spawn_children
    compat_worker()
    result = spawn_children.delay(3)
    ids = result.get(timeout=20)
    assert [c.id for c in result.children] == ids
    for child in result.children:
        assert child.get(timeout=20) in (0, 2, 4)
        assert child.parent.id == result.id


def test_typing_checks_arguments_at_the_caller(app):
    from tests.compat.proj_tasks import add
    with pytest.raises(TypeError, match="add"):
        add.delay(1, 2, 3)


def test_calling_directly_runs_here(app):
    from tests.compat.proj_tasks import add, whoami
    assert add(1, 2) == 3
    assert whoami()["called_directly"] is True


def test_ignore_result_tracks_state_not_value(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import ignored
    compat_worker()
    result = ignored.delay("x")
    assert result.get(timeout=20) is None and result.state == "SUCCESS"
    assert redis_client.lrange(key("ignored"), 0, -1) == ["x"]


def test_retry_without_throw_retries_after_the_function_returns(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import retry_no_throw
    compat_worker()
    result = retry_no_throw.delay()
    assert result.get(timeout=20) == "retried"
    assert redis_client.lrange(key("no-throw:" + result.id), 0, -1) == ["0", "1"]


def test_retry_with_new_args_and_queue(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import retry_changing
    compat_worker()
    result = retry_changing.delay(0)
    assert result.get(timeout=20) == 2
    assert redis_client.lrange(key("changing:" + result.id), 0, -1) == ["0@compat", "1@compat-own", "2@compat-own"]
    assert Job(result.id).fetch().params == {"args": [2], "kwargs": {}}


def test_control_revoke_and_purge(app, runtime):
    from tests.compat.proj_tasks import add
    waiting = [add.delay(i, i) for i in range(3)]
    app.control.revoke(waiting[0].id)
    assert waiting[0].state == "REVOKED"
    assert app.control.purge() == 2  # the two still on the queue (the revoked one left it)
    assert runtime.store.queue_size("compat") == 0


def test_task_logger_lines_are_stored_with_the_job(app, compat_worker):
    from tests.compat.proj_tasks import logs
    compat_worker()
    result = logs.delay("hello")
    assert result.get(timeout=20) == "hello"
    assert any("logged: hello" in line for line in Job(result.id).log_lines)


def test_hooks_and_custom_call(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import CustomError, hooked
    compat_worker()
    assert hooked.delay(False).get(timeout=20) == "fine"
    with pytest.raises(CustomError, match="second"):
        hooked.delay(True).get(timeout=20)
    assert redis_client.lrange(key("hooks"), 0, -1) == [
        "before_start [False]", "custom __call__", "on_success fine", "after_return SUCCESS",
        "before_start [True]", "custom __call__", "on_retry CustomError", "after_return RETRY",
        "before_start [True]", "custom __call__", "on_failure CustomError CustomError", "after_return FAILURE",
    ]


def test_reusing_a_live_task_id_queues_nothing_twice(app, runtime, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import record
    first = record.apply_async(("once",), task_id="fixed-id", countdown=0.5)
    again = record.apply_async(("twice",), task_id="fixed-id")
    assert first.id == again.id == "fixed-id"
    compat_worker()
    assert first.get(timeout=20) == "once"
    assert redis_client.lrange(key("record"), 0, -1) == ["once"]


def test_task_cls_by_path():
    from mrqc import Celery
    from tests.compat.proj_tasks import RecordingHooks
    other = Celery("taskcls", set_as_current=False, task_cls="tests.compat.proj_tasks:RecordingHooks")

    @other.task
    def t():
        return 1

    assert isinstance(t, RecordingHooks) and t.app is other


def test_result_expires_is_the_success_record_ttl(app, runtime, compat_worker, redis_client):
    from tests.compat.proj_tasks import add, fail
    compat_worker()
    ok, bad = add.delay(1, 1), fail.delay()
    ok.get(timeout=20)
    bad.get(timeout=20, propagate=False)
    assert 0 < redis_client.ttl(runtime.store.keys.job(ok.id)) <= 3600   # result_expires=3600 in proj.py
    assert redis_client.ttl(runtime.store.keys.job(bad.id)) > 3600        # failures keep mrqcore's default_ttl
