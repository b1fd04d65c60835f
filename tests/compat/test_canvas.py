"""Canvas through real workers: chain, group, chord (exactly-once), errbacks, links, chunks, map."""
from __future__ import annotations

import pytest

from mrqcore.job import Job
from mrqc import GroupResult, chain, chord, group, states
from mrqc.exceptions import ChordError
from tests.conftest import wait_for


def test_chain_passes_results_and_links_parents(app, compat_worker):
    from tests.compat.proj_tasks import add, mul
    result = (add.s(2, 2) | mul.s(10) | add.s(1)).apply_async()
    # the later steps exist at once (parked), so they can be inspected and revoked
    assert result.exists and result.state == states.PENDING
    assert result.parent.exists and result.parent.parent.exists
    compat_worker()
    assert result.get(timeout=20) == 41
    assert result.parent.get(timeout=5) == 40 and result.parent.parent.get(timeout=5) == 4
    # parents are also readable from any process, by id
    from mrqc import AsyncResult
    again = AsyncResult(result.id, app=app)
    assert again.parent.id == result.parent.id and again.parent.parent.id == result.parent.parent.id
    assert again.parent.parent.parent is None


def test_chain_immutable_step(app, compat_worker):
    from tests.compat.proj_tasks import add
    compat_worker()
    assert chain(add.s(1, 1), add.si(5, 5), add.s(1)).delay().get(timeout=20) == 11


def test_chain_failure_fails_the_rest(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import CustomError, add, fail, record
    compat_worker()
    result = chain(add.s(1, 1), fail.si("in chain"), record.s(), record.s()).apply_async()
    with pytest.raises(CustomError, match="in chain"):
        result.get(timeout=20)
    assert result.state == states.FAILURE and result.parent.state == states.FAILURE
    assert redis_client.llen(key("record")) == 0


def test_revoke_a_parked_chain_step(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import add, record
    result = chain(add.s(1, 1), record.s(), record.s()).apply_async()
    result.parent.revoke()  # the middle step, not queued yet
    compat_worker()
    wait_for(lambda: result.parent.parent.ready(), timeout=20, message="first step")
    assert result.parent.state == states.REVOKED
    # the chain stops at the revoked step; the step after it is revoked too, not parked forever
    wait_for(lambda: result.state == states.REVOKED, timeout=20, message="last step revoked")
    assert redis_client.llen(key("record")) == 0


def test_group(app, compat_worker):
    from tests.compat.proj_tasks import add
    compat_worker()
    result = group(add.s(i, i) for i in range(10)).apply_async()
    assert result.get(timeout=20) == [i * 2 for i in range(10)]
    assert result.ready() and result.successful() and result.completed_count() == 10
    restored = GroupResult.restore(result.id, app=app)
    assert [r.id for r in restored.results] == [r.id for r in result.results]
    assert Job(result.results[0].id).fetch().meta["group_id"] == result.id


def test_chord(app, compat_worker):
    from tests.compat.proj_tasks import add, xsum
    compat_worker()
    result = chord((add.s(i, i) for i in range(10)), xsum.s()).apply_async()
    assert result.get(timeout=20) == 90
    assert isinstance(result.parent, GroupResult) and result.parent.get(timeout=5) == [i * 2 for i in range(10)]


def test_group_then_task_is_a_chord_and_chain_continues(app, compat_worker):
    from tests.compat.proj_tasks import add, mul, xsum
    compat_worker()
    workflow = add.s(1, 1) | group(mul.s(i) for i in range(1, 4)) | xsum.s() | add.s(100)
    assert workflow.delay().get(timeout=20) == 2 + 4 + 6 + 100


def test_chord_callback_runs_exactly_once(app, runtime, compat_worker, redis_client, key):
    """20 header tasks finishing at the same moments on 3 worker processes x 20 greenlets (taking
    one job per dequeue, so the parts spread over the workers): each chord body runs exactly once,
    counted in Redis after every worker is idle again."""
    from tests.compat.proj_tasks import count_body, slow_add
    for _ in range(3):
        compat_worker(env={"MRQC_DEQUEUE_BATCH": "1"})
    expected, workers = {}, set()
    for round_ in range(5):
        result = chord([slow_add.s(i, round_) for i in range(20)], count_body.s()).apply_async()
        total = sum(range(20)) + 20 * round_
        assert result.get(timeout=60) == total
        expected[str(total)] = "1"
        workers |= {Job(r.id).fetch().worker for r in result.parent.results}
    keys = runtime.store.keys

    def idle():
        queues_empty = all(redis_client.llen(keys.queue(q)) == 0 for q in ("compat", "compat-routed", "compat-own"))
        inflight = sum(redis_client.zcard(k) for k in redis_client.scan_iter(match=keys.inflight("*")))
        return queues_empty and inflight == 0

    wait_for(idle, timeout=30, message="workers idle")
    assert redis_client.hgetall(key("chord-body")) == expected
    assert len(workers) >= 2, workers  # the parts really ran on different workers


def test_chord_errback_runs_once_and_body_fails(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import CustomError, add, count_body, fail, on_error_new, on_error_old
    compat_worker()
    compat_worker()
    body = count_body.s().on_error(on_error_old.s())  # on_error returns the body, as in Celery
    body.link_error(on_error_new.s())
    result = chord([add.s(1, 1), fail.si("one"), fail.si("two"), add.s(2, 2)], body).apply_async()
    with pytest.raises(CustomError):  # as Celery: get() re-raises the failed header task's own error
        result.get(timeout=20)
    with pytest.raises(ChordError):
        result.get(timeout=20, follow_parents=False)
    assert isinstance(result.result, ChordError) and result.state == states.FAILURE
    wait_for(lambda: redis_client.llen(key("errback")) >= 1 and redis_client.llen(key("errback-new")) >= 1,
             timeout=20, message="errbacks")
    result.parent.join(timeout=20, propagate=False)
    assert redis_client.lrange(key("errback"), 0, -1) == [result.id]  # old style: the body's id
    assert redis_client.lrange(key("errback-new"), 0, -1) == [f"{result.id}|ChordError"]
    assert not redis_client.exists(key("chord-body"))


def test_link_and_link_error(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import add, fail, on_error_old, record
    compat_worker()
    ok = add.apply_async((2, 3), link=record.s())
    assert ok.get(timeout=20) == 5
    wait_for(lambda: redis_client.lrange(key("record"), 0, -1) == ["5"], timeout=20, message="link")
    bad = fail.apply_async(link_error=on_error_old.s())
    with pytest.raises(Exception):
        bad.get(timeout=20)
    wait_for(lambda: redis_client.lrange(key("errback"), 0, -1) == [bad.id], timeout=20, message="errback")


def test_chunks_map_starmap(app, compat_worker):
    from tests.compat.proj_tasks import add
    compat_worker()
    result = add.chunks(zip(range(10), range(10)), 3).apply_async()
    assert result.get(timeout=20) == [[0, 2, 4], [6, 8, 10], [12, 14, 16], [18]]
    assert add.starmap([(1, 2), (3, 4)]).delay().get(timeout=20) == [3, 7]
    from tests.compat.proj_tasks import xsum
    assert xsum.map([[1, 2], [3]]).delay().get(timeout=20) == [3, 3]


def test_chain_ending_with_a_group(app, compat_worker):
    from tests.compat.proj_tasks import add, mul
    compat_worker()
    result = (add.s(1, 1) | group(mul.s(2), mul.s(3))).apply_async()
    assert isinstance(result, GroupResult)
    assert result.get(timeout=20) == [4, 6]


def test_chord_in_the_middle_of_a_chain(app, compat_worker):
    from tests.compat.proj_tasks import add, xsum
    compat_worker()
    workflow = chain(add.s(1, 1), chord([add.s(10), add.s(20)], xsum.s()), add.s(1000))
    assert workflow.apply_async().get(timeout=20) == 12 + 22 + 1000


def test_chain_fails_after_a_chord_header_failure(app, compat_worker, redis_client, key):
    from tests.compat.proj_tasks import CustomError, add, fail, record, xsum
    compat_worker()
    result = chain(chord([add.s(1, 1), fail.si("header")], xsum.s()), record.s()).apply_async()
    with pytest.raises(CustomError):
        result.get(timeout=20)
    assert result.state == states.FAILURE and redis_client.llen(key("record")) == 0


def test_group_revoke(app, runtime):
    from tests.compat.proj_tasks import add
    result = group(add.s(i, i) for i in range(3)).apply_async()
    result.revoke()
    assert [r.state for r in result.results] == ["REVOKED"] * 3


def test_unsupported_canvas_shapes_fail_loudly(app, runtime):
    from mrqc.exceptions import UnsupportedOption
    from tests.compat.proj_tasks import add
    # (a chain in a chord header, refused before, now runs: tests/compat/test_canvas_shapes.py)
    with pytest.raises(UnsupportedOption, match="link"):
        add.apply_async((1, 1), link=group(add.s(1)))


def test_revoking_the_first_step_revokes_the_chain(app, runtime):
    from tests.compat.proj_tasks import add
    result = (add.s(1, 1) | add.s(1) | add.s(1)).apply_async()
    result.parent.parent.revoke()
    assert [result.parent.parent.state, result.parent.state, result.state] == ["REVOKED"] * 3
