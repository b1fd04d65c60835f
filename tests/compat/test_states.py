"""Every MRQ status read as its Celery state, through real workers (table in mrqc.states)."""
from __future__ import annotations

import signal

import pytest

from mrqcore.job import Job, queue_job
from mrqc import AsyncResult, states
from mrqc.exceptions import (MaxRetriesExceededError, TaskRevokedError, TimeLimitExceeded, TimeoutError,
                             WorkerLostError)
from tests.compat.conftest import signals_seen
from tests.conftest import wait_for


def test_unknown_id_is_told_apart_from_pending(app, runtime):
    unknown = AsyncResult("never-sent", app=app)
    assert unknown.state == states.PENDING and not unknown.exists  # Celery's answer, plus `exists`
    strict = AsyncResult("never-sent", app=app, strict=True)
    assert strict.state == states.UNKNOWN
    with pytest.raises(KeyError, match="never-sent"):
        strict.get(timeout=5)
    from tests.compat.proj_tasks import add
    waiting = add.delay(1, 1)  # no worker: queued
    assert waiting.state == states.PENDING and waiting.exists
    assert AsyncResult(waiting.id, app=app, strict=True).state == states.PENDING
    with pytest.raises(TimeoutError):
        waiting.get(timeout=0.3)


def test_failure_reraises_the_task_exception(app, compat_worker):
    from tests.compat.proj_tasks import CustomError, fail
    compat_worker()
    result = fail.delay("bad input")
    with pytest.raises(CustomError) as caught:
        result.get(timeout=20)
    assert caught.value.args == ("bad input", 42)
    assert result.state == states.FAILURE and result.failed() and result.ready()
    assert isinstance(result.result, CustomError)
    assert "CustomError" in result.traceback
    assert isinstance(result.get(propagate=False), CustomError)
    assert Job(result.id).fetch().status == "failed"


def test_exception_class_not_importable_here():
    from mrqc.utils import rebuild_exception
    exc = rebuild_exception({"exc_module": "nowhere.errors", "exc_type": "QuotaError", "exc_message": ["x", 1]})
    assert type(exc).__name__ == "QuotaError" and exc.args == ("x", 1) and isinstance(exc, Exception)


def test_revoked_waiting_job(app, compat_worker):
    from tests.compat.proj_tasks import add
    result = add.apply_async((1, 2), countdown=60)
    result.revoke()
    assert result.state == states.REVOKED and result.ready()
    with pytest.raises(TaskRevokedError):
        result.get(timeout=5)
    assert Job(result.id).fetch().status == "cancel"


def test_expired_job_is_revoked_not_run(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import record
    compat_worker()
    result = record.apply_async(("late",), countdown=1, expires=0.2)
    with pytest.raises(TaskRevokedError, match="expired"):
        result.get(timeout=20)
    assert result.state == states.REVOKED
    assert redis_client.lrange(key("record"), 0, -1) == []
    revoked = [s for s in signals_seen(redis_client, key) if s["signal"] == "task_revoked"]
    assert revoked == [{"signal": "task_revoked", "sender": "tests.compat.proj_tasks.record",
                        "task_id": result.id, "terminated": False, "expired": True}]


def test_reject_and_requeue(app, compat_worker):
    from tests.compat.proj_tasks import reject
    compat_worker()
    rejected = reject.delay(False)
    with pytest.raises(TaskRevokedError):
        rejected.get(timeout=20)
    assert rejected.state == states.REVOKED and Job(rejected.id).fetch().status == "abort"
    requeued = reject.delay(True)
    assert requeued.get(timeout=20) == "second time"
    assert Job(requeued.id).fetch().retry_count == 0  # a requeue is not a retry


def test_hard_time_limit_is_timeout_failure(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import hard_limited
    compat_worker()
    result = hard_limited.delay()
    with pytest.raises(TimeLimitExceeded):
        result.get(timeout=20)
    assert result.state == states.FAILURE
    assert Job(result.id).fetch().status == "timeout"
    failures = [s for s in signals_seen(redis_client, key) if s["signal"] == "task_failure"]
    assert failures[-1]["exception"] == "TimeLimitExceeded" and failures[-1]["task_id"] == result.id


def test_soft_time_limit_raises_inside_the_task(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import soft_limited
    compat_worker()
    assert soft_limited.delay().get(timeout=20) == "cleaned up"
    assert redis_client.lrange(key("soft"), 0, -1) == ["caught"]


def test_per_call_time_limits(app, compat_worker):
    from tests.compat.proj_tasks import gated
    compat_worker()
    result = gated.apply_async(("never-opened",), time_limit=0.5)
    with pytest.raises(TimeLimitExceeded):
        result.get(timeout=20)
    assert Job(result.id).fetch().status == "timeout"


def test_retry_state_then_revoke(app, compat_worker):
    from tests.compat.proj_tasks import retry_later
    compat_worker()
    result = retry_later.delay()
    wait_for(lambda: result.state == states.RETRY, timeout=20, message="RETRY")
    assert Job(result.id).fetch().status == "retry"
    result.revoke()
    assert result.state == states.REVOKED


def test_worker_shutdown_is_worker_lost(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import gated
    worker = compat_worker()
    result = gated.delay("shutdown")
    wait_for(lambda: redis_client.llen(key("gated-started")) == 1, timeout=20, message="task started")
    worker.signal(signal.SIGQUIT)  # Celery's cold shutdown (SIGTERM is warm: the task would finish)
    assert worker.wait(30) == 0
    with pytest.raises(WorkerLostError):
        result.get(timeout=20)
    assert result.state == states.FAILURE and Job(result.id).fetch().status == "interrupt"


def test_acks_late_task_is_requeued_on_worker_shutdown(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import gated_late
    worker = compat_worker()
    result = gated_late.delay("late")
    wait_for(lambda: redis_client.llen(key("gated-started")) == 1, timeout=20, message="task started")
    worker.signal(signal.SIGQUIT)  # Celery's cold shutdown (SIGTERM is warm: the task would finish)
    assert worker.wait(30) == 0
    assert Job(result.id).fetch().status == "queued" and result.state == states.PENDING
    compat_worker()
    wait_for(lambda: redis_client.llen(key("gated-started")) == 2, timeout=20, message="task started again")
    redis_client.rpush(key("gate:late"), "go")
    assert result.get(timeout=20) == "late"


def test_terminate_kills_a_running_task(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import gated
    compat_worker()
    result = gated.delay("terminate")
    wait_for(lambda: redis_client.llen(key("gated-started")) == 1, timeout=20, message="task started")
    result.revoke(terminate=True)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=20)
    assert result.state == states.REVOKED
    revoked = [s for s in signals_seen(redis_client, key) if s["signal"] == "task_revoked"]
    assert revoked[-1]["terminated"] is True and revoked[-1]["task_id"] == result.id


def test_maxretries_status_reads_as_failure(app, run_burst, runtime):
    job_id = queue_job("tests.tasks.basic.Retry", {"max_retries": 0}, queue="default")
    run_burst("default")
    assert Job(job_id).fetch().status == "maxretries"
    result = AsyncResult(job_id, app=app)
    assert result.state == states.FAILURE
    with pytest.raises(MaxRetriesExceededError):
        result.get(timeout=5)


def test_update_state_custom_state(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import progress
    compat_worker()
    result = progress.delay("progress")
    wait_for(lambda: redis_client.llen(key("progress-started")) == 1, timeout=20, message="started")
    assert result.state == "PROGRESS" and result.info == {"done": 1, "total": 2}
    redis_client.rpush(key("gate:progress"), "go")
    assert result.get(timeout=20) == "done" and result.state == states.SUCCESS


def test_started_is_reported(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import gated
    compat_worker()
    result = gated.delay("started")
    wait_for(lambda: redis_client.llen(key("gated-started")) == 1, timeout=20, message="started")
    assert result.state == states.STARTED
    redis_client.rpush(key("gate:started"), "go")
    assert result.get(timeout=20) == "started"


def test_forget(app, compat_worker):
    from tests.compat.proj_tasks import add
    compat_worker()
    result = add.delay(1, 1)
    assert result.get(timeout=20) == 2
    result.forget()
    assert not AsyncResult(result.id, app=app).exists


def test_update_state_then_ignore_keeps_the_custom_state(app, compat_worker):
    """Celery's pattern for a custom failure: update_state(state=FAILURE, meta=...) then raise Ignore."""
    from tests.compat.proj_tasks import custom_failure
    compat_worker()
    result = custom_failure.delay()
    with pytest.raises(ValueError, match="custom"):
        result.get(timeout=20)
    assert result.state == states.FAILURE and Job(result.id).fetch().status == "abort"
    assert result.info == {"exc_type": "ValueError", "exc_message": ["custom"]}
