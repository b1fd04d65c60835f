"""Acceptance 2 and 3: a mixed fleet drains 2,000 tasks exactly once; SIGKILL of an mrqc worker loses none.

Each ``wire.record(key, n)`` run appends ``n`` to a Redis list (and counts its side), so runs are
counted exactly. Both run once per transport (the heaviest tests of the wire suite).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import redis as redis_lib

from tests.conftest import wait_for

TASKS = 2000


def _sides(wire: Any) -> dict[str, int]:
    raw = redis_lib.Redis.from_url(wire.redis_url).hgetall(wire.runs_key + ":sides")
    return {k.decode(): int(v) for k, v in raw.items()}


def _ready(proc: Any, words: str) -> None:
    wait_for(lambda: words in proc.output(), timeout=60, interval=0.1, message=f"{words!r} in the worker log")


def test_a_mixed_fleet_runs_each_task_exactly_once(wire, procs, celery_client):
    from tests.adapters.conftest import broker_holds
    celery_worker = procs("celery", wire, "--prefetch-multiplier", "4")
    mrqc_worker = procs("mrqc", wire)
    _ready(celery_worker, "ready.")
    _ready(mrqc_worker, "celery wire: consuming")
    record = celery_client.wire_tasks["record"]
    sent = [record.apply_async((wire.runs_key, n), ignore_result=True).id for n in range(TASKS)]
    wait_for(lambda: len(wire.runs()) >= TASKS, timeout=240, interval=0.2, message=f"{TASKS} runs")
    wait_for(lambda: not broker_holds(wire, sent[-1]), timeout=30, message="the broker drained")
    runs = Counter(wire.runs())
    assert len(runs) == TASKS and set(runs) == {str(n) for n in range(TASKS)}
    assert max(runs.values()) == 1, [n for n, c in runs.items() if c > 1]
    sides = _sides(wire)
    assert sum(sides.values()) == TASKS and sides.get("celery", 0) > 0 and sides.get("mrqc", 0) > 0, sides


def test_sigkill_of_an_mrqc_worker_mid_stream_loses_no_message(wire, procs, celery_client):
    total, greenlets = 600, 10
    env = {"WIRE_VISIBILITY": "5", "MRQC_WORKER_LOST_AFTER": "2", "MRQC_HEARTBEAT_INTERVAL": "0.5"}
    record = celery_client.wire_tasks["record"]
    for n in range(total):
        record.apply_async((wire.runs_key, n, 0.01), ignore_result=True)
    first = procs("mrqc", wire, env=env)
    wait_for(lambda: len(wire.runs()) >= 100, timeout=60, interval=0.05, message="100 runs")
    first.kill()  # mid-stream: messages recorded and unacked, jobs queued and running
    assert len(wire.runs()) < total
    second = procs("mrqc", wire, env=env)
    try:
        wait_for(lambda: set(wire.runs()) == {str(n) for n in range(total)}, timeout=120, interval=0.2,
                 message="every message run")
    except AssertionError:
        missing = sorted({str(n) for n in range(total)} - set(wire.runs()), key=int)
        raise AssertionError(f"missing runs {missing[:20]} ({len(missing)}); second worker:\n"
                             f"{second.output()[-3000:]}\nfirst worker:\n{first.output()[-3000:]}")
    runs = Counter(wire.runs())
    # at-least-once: only jobs running at the kill may run again (recovered from the dead worker)
    assert sum(runs.values()) - total <= greenlets, [n for n, c in runs.items() if c > 1]
