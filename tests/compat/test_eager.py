"""Eager mode (task_always_eager / apply): runs here, returns EagerResult, as in Celery."""
from __future__ import annotations

import pytest

from mrqc import EagerResult, chain, chord, group, states


@pytest.fixture
def eager(app):
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


def test_delay_returns_eager_result(eager):
    from tests.compat.proj_tasks import add, whoami
    result = add.delay(2, 2)
    assert isinstance(result, EagerResult) and result.get() == 4 and result.state == states.SUCCESS
    seen = whoami.delay(1).get()
    assert seen["is_eager"] is True and seen["called_directly"] is False and seen["id"]


def test_failure_held_or_propagated(eager):
    from tests.compat.proj_tasks import CustomError, fail
    result = fail.delay("x")
    assert result.state == states.FAILURE and isinstance(result.result, CustomError)
    with pytest.raises(CustomError):
        result.get()
    assert isinstance(result.get(propagate=False), CustomError)
    eager.conf.task_eager_propagates = True
    with pytest.raises(CustomError):
        fail.delay("y")


def test_eager_retry_runs_again_at_once(eager, runtime, key):
    from tests.compat.proj_tasks import retry_until
    result = retry_until.delay(2)
    assert result.get() == 2


def test_eager_canvas(eager):
    from tests.compat.proj_tasks import add, mul, xsum
    assert (add.s(1, 1) | mul.s(3)).delay().get() == 6
    assert group(add.s(i, i) for i in range(3)).delay().get() == [0, 2, 4]
    assert chord([add.s(1, 1), add.s(2, 2)], xsum.s()).delay().get() == 6
    assert chain(add.s(1, 1), group(mul.s(2), mul.s(3)), xsum.s()).delay().get() == 10
    assert add.chunks([(1, 1), (2, 2), (3, 3)], 2).delay().get() == [[2, 4], [6]]


def test_apply_without_eager_mode(app):
    from tests.compat.proj_tasks import add
    result = add.apply((5, 5))
    assert result.get() == 10 and result.successful()


def test_eager_link_error_runs_errback(eager, runtime, redis_client, key):
    from tests.compat.proj_tasks import fail, on_error_old
    result = fail.apply_async(link_error=on_error_old.s())
    assert result.failed()
    assert redis_client.lrange(key("errback"), 0, -1) == [result.id]
