"""Retries (self.retry, autoretry_for with backoff) and rate limits, through real workers."""
from __future__ import annotations

import pytest

from mrqcore.job import Job
from mrqc import states
from mrqc.exceptions import MaxRetriesExceededError
from tests.compat.conftest import signals_seen


def test_bound_retry_with_countdown(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import retry_until
    compat_worker()
    result = retry_until.delay(2)
    assert result.get(timeout=20) == 2
    assert redis_client.lrange(key("retries:" + result.id), 0, -1) == ["0", "1", "2"]
    assert Job(result.id).fetch().retry_count == 2
    retries = [s for s in signals_seen(redis_client, key) if s["signal"] == "task_retry"]
    assert [s["reason"] for s in retries] == ["Retry", "Retry"]


def test_retry_past_max_retries(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import retry_until
    compat_worker()
    result = retry_until.delay(10)  # max_retries=3
    with pytest.raises(MaxRetriesExceededError):
        result.get(timeout=20)
    assert redis_client.lrange(key("retries:" + result.id), 0, -1) == ["0", "1", "2", "3"]
    assert result.state == states.FAILURE


def test_retry_with_exc_reraises_it_past_max(app, compat_worker):
    from tests.compat.proj_tasks import CustomError, retry_with_exc
    compat_worker()
    with pytest.raises(CustomError, match="underlying"):
        retry_with_exc.delay().get(timeout=20)


def test_autoretry_for_with_backoff(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import FlakyError, flaky
    compat_worker()
    result = flaky.delay()
    with pytest.raises(FlakyError):
        result.get(timeout=30)
    assert redis_client.lrange(key("flaky:" + result.id), 0, -1) == ["0", "1", "2"]  # max_retries=2


def test_dont_autoretry_for(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import CustomError, not_for_custom
    compat_worker()
    with pytest.raises(CustomError):
        not_for_custom.delay().get(timeout=20)
    assert redis_client.get(key("not_for_custom")) == "1"


def test_rate_limit_is_enforced_across_workers(app, compat_worker, redis_client, key):
    """rate_limit="5/s": 20 jobs on two workers with 20 greenlets each are never let through
    faster than 5 per second of Redis time, and none is dropped or counted as a retry.

    A job is let through (in window floor(p)) before it records its start second s >= p, so the
    exact check is cumulative: by the end of second b at most 5 * (b - t0 + 1) jobs can have
    started, t0 being the second the test published in."""
    from tests.compat.proj_tasks import limited
    t0, _ = redis_client.time()
    results = [limited.delay(i) for i in range(20)]
    compat_worker()
    compat_worker()
    assert sorted(r.get(timeout=60) for r in results) == list(range(20))
    per_second = {int(k): int(v) for k, v in redis_client.hgetall(key("limited")).items()}
    assert sum(per_second.values()) == 20
    started = 0
    for second in range(t0, max(per_second) + 1):
        started += per_second.get(second, 0)
        assert started <= 5 * (second - t0 + 1), (second, per_second)
    assert max(per_second) - t0 >= 3  # 20 jobs at 5/s need at least 4 windows
    assert all(Job(r.id).fetch().retry_count == 0 for r in results)
