"""Chords over the wire, joined in Celery's Redis result backend (``mrqc.adapters.chords``).

A Celery client's chord on mrqc wire workers, on a mixed fleet (header parts
routed so that both sides run some), and mrqc's chords, groups and chains
holding them on a real Celery worker. The body's runs are counted: each
``wire.total(values, key)`` appends ``total:<sum>`` to the test's runs list.
"""
from __future__ import annotations

import re
from collections import Counter

import pytest
import redis as redis_lib

from tests.adapters.wire_tasks import WireError
from tests.conftest import wait_for


def _chord_keys(wire, group_id):
    """The chord's join keys still in the result backend (none once it is joined), and its done mark."""
    client = redis_lib.Redis.from_url(wire.backend)
    left = sorted(k.decode() for k in client.scan_iter(match=f"celery-taskset-meta-{group_id}.*")
                  if not k.decode().endswith(".c"))
    return left, client.get(f"celery-taskset-meta-{group_id}.c")


def test_a_celery_chord_runs_on_an_mrqc_worker(wire, procs, celery_client):
    from celery import chain, chord
    from celery.exceptions import ChordError
    worker = procs("mrqc", wire)
    t, key = celery_client.wire_tasks, wire.runs_key
    result = chord([t["add"].s(n, n) for n in range(5)], t["total"].s(key))()
    try:
        assert result.get(timeout=30) == 20
    except Exception:
        print(worker.output())
        raise
    assert result.parent.get(timeout=10) == [0, 2, 4, 6, 8]  # the header's results, in order
    assert _chord_keys(wire, result.parent.id) == ([], b"done")  # joined once, keys cleaned as Celery does
    # a header part fails: the body fails with ChordError and its errback runs (Celery's chord_error_from_stack)
    bad = chord([t["add"].s(1, 1), t["fail"].s("part broke")],
                t["total"].s(key).set(link_error=[t["mark"].si(key)]))()
    with pytest.raises(WireError, match="part broke"):  # Celery's get() re-raises the failed parent first
        bad.get(timeout=30)
    body = celery_client.AsyncResult(bad.id)
    wait_for(lambda: body.state == "FAILURE", timeout=30, message="the chord body failed")
    assert isinstance(body.result, ChordError)
    assert re.fullmatch(r"Dependency \S+ raised WireError\('part broke'\)", str(body.result)), body.result
    wait_for(lambda: "errback" in wire.runs(), timeout=30, message="the chord body's errback")
    # a Celery chain holding a chord: the step after the chord gets the body's result
    steps = chain(t["add"].s(1, 2), chord([t["add"].s(3), t["add"].s(4)], t["total"].s()), t["add"].s(5))
    try:
        assert steps.apply_async().get(timeout=30) == 18  # (3+3) + (3+4) + 5
    except Exception:
        print(worker.output())
        raise
    assert Counter(wire.runs()) == {"total:20": 1, "errback": 1}  # each body ran (or failed) once


def test_a_chord_joins_across_a_mixed_fleet(wire, procs, celery_client, mrqc_client):
    """Header parts alternate between a queue only Celery serves and one only mrqc serves."""
    from celery import chord as celery_chord
    from mrqc import chord as mrqc_chord
    mrqc_queue = wire.queue + "-m"
    wire.extra_queues.append(mrqc_queue)
    procs("celery", wire)
    procs("mrqc", wire, mrqc_queue)
    key, parts = wire.runs_key, 8

    def header(tasks):
        return [tasks["record"].s(key, n).set(queue=mrqc_queue if n % 2 else wire.queue) for n in range(parts)]

    first = celery_chord(header(celery_client.wire_tasks), celery_client.wire_tasks["total"].s(key))()
    assert first.get(timeout=60) == sum(range(parts))
    second = mrqc_chord(header(mrqc_client.wire_tasks),  # published by mrqc, joined by whichever ends last
                        mrqc_client.wire_tasks["total"].s(key).set(queue=mrqc_queue))()
    assert second.get(timeout=60) == sum(range(parts))
    runs = Counter(wire.runs())
    assert runs == {**{str(n): 2 for n in range(parts)}, f"total:{sum(range(parts))}": 2}, runs
    sides = {k.decode(): int(v) for k, v in redis_lib.Redis.from_url(wire.redis_url).hgetall(key + ":sides").items()}
    assert sides == {"celery": parts, "mrqc": parts}, sides


def test_mrqc_chords_groups_and_chains_run_on_a_celery_worker(wire, procs, mrqc_client):
    from mrqc import chain, chord, group
    from mrqc.exceptions import ChordError
    worker = procs("celery", wire)
    t, key = mrqc_client.wire_tasks, wire.runs_key
    result = chord([t["add"].s(n, n) for n in range(4)], t["total"].s(key))()
    try:
        assert result.get(timeout=60) == 12
    except Exception:
        print(worker.output())
        raise
    assert result.parent.get(timeout=10) == [0, 2, 4, 6]
    bad = chord([t["fail"].s("header broke"), t["add"].s(1, 1)],
                t["total"].s(key).set(link_error=[t["mark"].si(key)]))()
    with pytest.raises(WireError, match="header broke"):  # as Celery's get(): the failed parent first
        bad.get(timeout=60)
    body = mrqc_client.AsyncResult(bad.id)
    wait_for(lambda: body.state == "FAILURE", timeout=30, message="the chord body failed")
    assert isinstance(body.result, ChordError), body.result  # Celery's ChordError, read as mrqc's
    assert re.fullmatch(r"Dependency \S+ raised WireError\('header broke'\)", str(body.result)), body.result
    wait_for(lambda: "errback" in wire.runs(), timeout=30, message="the chord body's errback")
    steps = chain(t["add"].s(1, 2), chord([t["add"].s(3), t["add"].s(4)], t["total"].s()), t["add"].s(5))
    assert steps.apply_async().get(timeout=60) == 18
    assert group(t["add"].s(n, 1) for n in range(3)).apply_async().get(timeout=60) == [1, 2, 3]
    ends_in_group = chain(t["add"].s(1, 1), group(t["add"].s(10), t["add"].s(20))).apply_async()
    assert ends_in_group.get(timeout=60) == [12, 22]
    assert Counter(wire.runs()) == {"total:12": 1, "errback": 1}


@pytest.mark.parametrize("wire", ["redis"], indirect=True)
def test_without_a_redis_result_backend_chords_are_refused_loudly(wire, procs, monkeypatch):
    """Celery joins chords with no native join by polling (celery.chord_unlock); the wire dead-letters those
    messages, and chord header messages when it has no Redis result backend, and says why."""
    from mrqc import chord as mrqc_chord
    from mrqc.exceptions import UnsupportedOption
    from tests.adapters import celery_side, mrqc_side
    from tests.adapters.test_dead_letters import _dead_letters
    wire.backend = ""  # the mrqc side has no result backend (mrqc has no rpc://); the Celery client uses rpc://
    worker = procs("mrqc", wire)
    client = celery_side.make_app(wire.broker, "rpc://", wire.queue)
    header = [client.wire_tasks["add"].s(1, 1), client.wire_tasks["add"].s(2, 2)]
    body = client.wire_tasks["total"].s()
    for index, part in enumerate(header):  # what Celery's canvas sends (its own client refuses chords on rpc://)
        client.send_task("wire.add", args=part.args, chord=body, group_id="group-id", group_index=index)
    unlock = client.send_task("celery.chord_unlock", args=("group-id", {}))
    client.wire_tasks["record"].delay(wire.runs_key, 1)
    try:
        wait_for(lambda: wire.runs() == ["1"], timeout=30, message="the worker goes on")
    except AssertionError:
        print(worker.output())
        raise
    wait_for(lambda: len(_dead_letters(wire)) >= 3, timeout=30, message="three dead letters")
    dead = _dead_letters(wire)
    assert sum("a chord header task needs a Redis result_backend" in reason for reason in dead.values()) == 2, dead
    assert "celery.chord_unlock is Celery's polling chord join" in dead[unlock.id]
    assert f"celery wire: dead-lettered message {unlock.id} from {wire.queue}: unsupported: " in worker.output()
    client.close()
    app = mrqc_side.make_app(wire.broker, "", wire.queue)
    with pytest.raises(UnsupportedOption, match="need a Redis result_backend"):
        mrqc_chord([app.wire_tasks["add"].s(1, 1)], app.wire_tasks["total"].s())()


@pytest.mark.parametrize("wire", ["redis"], indirect=True)  # the result backend's keys only: no broker
def test_a_part_counts_once_and_a_late_copy_after_the_join_changes_nothing(wire):
    import uuid

    from kombu.utils.json import dumps

    from mrqc.adapters.transports.celery_redis import CeleryRedisBackend
    backend, group_id = CeleryRedisBackend(wire.backend), f"{wire.prefix}chord-{uuid.uuid4().hex}"

    def part(task_id, index, value, token):
        return backend.chord_part(group_id, task_id, index, dumps([1, task_id, "SUCCESS", value]), True,
                                  60, 60, 10, token)

    try:
        backend.set_chord_size(group_id, 2, 60)
        assert (part("a", 0, 1, "t1").ready, part("a", 0, 99, "t2").ready) == (1, 1)  # a rerun of part 0
        last = part("b", 1, 2, "t3")
        assert last.complete and last.total == 2
        assert not part("b", 1, 2, "t4").complete  # a copy of the last part does not claim the join again
        assert [p[3] for p in backend.chord_parts(group_id, True)] == [1, 2]  # the first run's value, in order
        assert backend.renew_claim(group_id, "t3", 10) and not backend.renew_claim(group_id, "t4", 10)
        assert backend.chord_done(group_id, "t3", 60)
        assert part("a", 0, 1, "t5").joined_already  # after the join: nothing is recreated
        assert _chord_keys(wire, group_id)[0] == []
    finally:
        redis_lib.Redis.from_url(wire.backend).delete(*(backend.group_key(group_id, "." + s) for s in "jtsdc"))
        backend.close()
