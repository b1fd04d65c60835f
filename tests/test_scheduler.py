"""The periodic-job scheduler: entry validation, due times, and exactly-once queueing across schedulers."""
from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys
import threading

import pytest

from mrqcore.config import Config
from mrqcore.exceptions import ConfigError
from mrqcore.runtime import Runtime
from mrqcore.scheduler import ScheduleEntry, Scheduler, parse_entries
from tests.conftest import ROOT, wait_for, worker_env

RECORD = "tests.tasks.depth_b.RecordRun"


def ts(text: str) -> float:
    """'2026-03-02 03:00:00' (UTC) -> epoch seconds."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize("entry, field", [
    ({"interval": 5}, "path"),
    ({"path": RECORD}, "exactly one timing"),
    ({"path": RECORD, "interval": 5, "cron": "* * * * *"}, "exactly one timing"),
    ({"path": RECORD, "interval": 0}, "'interval'"),
    ({"path": RECORD, "interval": "5"}, "'interval'"),
    ({"path": RECORD, "dailytime": "24:00"}, "'dailytime'"),
    ({"path": RECORD, "dailytime": "3h"}, "'dailytime'"),
    ({"path": RECORD, "dailytime": "03:00", "weekday": 7}, "'weekday'"),
    ({"path": RECORD, "dailytime": "03:00", "monthday": 0}, "'monthday'"),
    ({"path": RECORD, "interval": 5, "weekday": 1}, "'weekday'"),
    ({"path": RECORD, "dailytime": "03:00", "weekday": 1, "monthday": 2}, "'monthday'"),
    ({"path": RECORD, "cron": "*/5 * * *"}, "'cron'"),
    ({"path": RECORD, "interval": 5, "params": [1]}, "'params'"),
    ({"path": RECORD, "interval": 5, "params": {"when": {1, 2}}}, "'params'"),
    ({"path": RECORD, "interval": 5, "queue": ""}, "'queue'"),
    ({"path": RECORD, "interval": 5, "intervall": 3}, "'intervall'"),
])
def test_bad_entry_is_a_config_error_naming_entry_and_field(entry, field):
    with pytest.raises(ConfigError) as info:
        parse_entries([{"path": RECORD, "interval": 1}, entry])
    message = str(info.value)
    assert "scheduler_tasks" in message and "entry [1]" in message and field in message, message


def test_unknown_field_gets_a_hint():
    with pytest.raises(ConfigError, match="did you mean 'interval'"):
        parse_entries([{"path": RECORD, "intervall": 3}])


def test_identical_entries_need_distinct_names():
    with pytest.raises(ConfigError, match="entry \\[1\\].*same identity.*'name'"):
        parse_entries([{"path": RECORD, "interval": 5}, {"path": RECORD, "interval": 5}])
    entries = parse_entries([{"path": RECORD, "interval": 5}, {"path": RECORD, "interval": 5, "name": "b"}])
    assert entries[1].id == "b"


def test_identity_is_stable_and_depends_on_what_and_when():
    a = ScheduleEntry.from_dict({"path": RECORD, "params": {"x": 1, "y": 2}, "interval": 5})
    b = ScheduleEntry.from_dict({"path": RECORD, "params": {"y": 2, "x": 1}, "interval": 5.0})
    c = ScheduleEntry.from_dict({"path": RECORD, "params": {"x": 1, "y": 2}, "interval": 6})
    assert a.id == b.id != c.id
    assert a.job_id(100.0) == b.job_id(100.0) != a.job_id(105.0)


def test_bad_entries_stop_the_scheduler_command(config_values):
    env = worker_env({**config_values, "scheduler_tasks": [{"path": RECORD, "interval": -1}]})
    proc = subprocess.run([sys.executable, "-m", "mrqcore.cli", "scheduler", "--once"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "scheduler_tasks" in proc.stderr and "'interval'" in proc.stderr


def test_bad_entries_stop_a_worker_with_scheduler(config_values, start_worker):
    config_values["scheduler_tasks"] = [{"path": RECORD, "dailytime": "03:00", "weekday": 9}]
    worker = start_worker("--scheduler")
    assert worker.wait(60) == 2
    assert "entry [0]" in worker.output() and "'weekday'" in worker.output()


# --- due times ------------------------------------------------------------------------


def test_interval_due_times_are_multiples_of_the_interval():
    entry = ScheduleEntry.from_dict({"path": RECORD, "interval": 60})
    assert entry.next_run_after(ts("2026-03-02 10:00:30")) == ts("2026-03-02 10:01:00")
    assert entry.next_run_after(ts("2026-03-02 10:01:00")) == ts("2026-03-02 10:02:00")
    assert entry.last_run_at_or_before(ts("2026-03-02 10:01:00")) == ts("2026-03-02 10:01:00")
    assert entry.last_run_at_or_before(ts("2026-03-02 10:01:59")) == ts("2026-03-02 10:01:00")


def test_dailytime_weekday_and_monthday():
    daily = ScheduleEntry.from_dict({"path": RECORD, "dailytime": "03:30"})
    assert daily.next_run_after(ts("2026-03-02 03:00:00")) == ts("2026-03-02 03:30:00")
    assert daily.next_run_after(ts("2026-03-02 03:30:00")) == ts("2026-03-03 03:30:00")
    assert daily.last_run_at_or_before(ts("2026-03-02 03:29:59")) == ts("2026-03-01 03:30:00")
    # 2026-03-02 is a Monday (weekday 0); weekday 4 is Friday.
    friday = ScheduleEntry.from_dict({"path": RECORD, "dailytime": "08:00:15", "weekday": 4})
    assert friday.next_run_after(ts("2026-03-02 12:00:00")) == ts("2026-03-06 08:00:15")
    assert friday.last_run_at_or_before(ts("2026-03-02 12:00:00")) == ts("2026-02-27 08:00:15")
    day31 = ScheduleEntry.from_dict({"path": RECORD, "dailytime": "00:00", "monthday": 31})
    assert day31.next_run_after(ts("2026-03-31 00:00:00")) == ts("2026-05-31 00:00:00")  # no 31 April
    assert dt.time(3, 30) and ScheduleEntry.from_dict(
        {"path": RECORD, "dailytime": dt.time(3, 30)}).dailytime == daily.dailytime


def test_cron_due_times_in_utc():
    entry = ScheduleEntry.from_dict({"path": RECORD, "cron": "*/5 * * * *"})
    assert entry.next_run_after(ts("2026-03-02 10:02:10")) == ts("2026-03-02 10:05:00")
    assert entry.next_run_after(ts("2026-03-02 10:05:00")) == ts("2026-03-02 10:10:00")
    assert entry.last_run_at_or_before(ts("2026-03-02 10:05:00")) == ts("2026-03-02 10:05:00")
    assert entry.last_run_at_or_before(ts("2026-03-02 10:04:59.5")) == ts("2026-03-02 10:00:00")
    nightly = ScheduleEntry.from_dict({"path": RECORD, "cron": "0 2 * * 1"})  # Mondays 02:00
    assert nightly.next_run_after(ts("2026-03-02 02:00:00")) == ts("2026-03-09 02:00:00")


# --- ticks --------------------------------------------------------------------------


def _jobs_by_due(runtime):
    """{due: number of job records} over every job in this test's prefix."""
    counts: collections.Counter = collections.Counter()
    for job_id in runtime.store.iter_ids():
        meta = json.loads(runtime.store.get(job_id, ["meta"]).get("meta") or "{}")
        counts[meta["schedule"]["due"]] += 1
    return counts


def test_tick_queues_the_latest_due_run_once(runtime):
    sched = Scheduler(runtime, [{"path": RECORD, "interval": 10, "params": {"n": 1}, "queue": "sched"}])
    first = sched.tick(1000.0)  # never seen: runs at once (MRQ's behaviour)
    assert [(r.due, r.queue) for r in first] == [(1000.0, "sched")]
    assert sched.tick(1005.0) == []
    assert [r.due for r in sched.tick(1010.0)] == [1010.0]
    assert [r.due for r in sched.tick(1049.0)] == [1040.0]  # one catch-up run, not three
    record = runtime.store.get(first[0].job_id)
    assert record["status"] == "queued" and record["queue"] == "sched" and json.loads(record["params"]) == {"n": 1}
    assert runtime.store.queue_size("sched") == 3
    # A new scheduler (restart) knows from Redis what was queued already.
    assert Scheduler(runtime, [{"path": RECORD, "interval": 10, "params": {"n": 1}, "queue": "sched"}]).tick(1049.0) == []


def test_catch_up_false_waits_for_the_next_due_time(runtime):
    sched = Scheduler(runtime, [{"path": RECORD, "dailytime": "03:00", "catch_up": False}])
    assert sched.tick(ts("2026-03-02 10:00:00")) == []
    assert sched.tick(ts("2026-03-03 02:59:59")) == []
    assert [r.due for r in sched.tick(ts("2026-03-03 03:00:01"))] == [ts("2026-03-03 03:00:00")]


def _second_runtime(config_values):
    return Runtime(Config(config_values))


def test_two_schedulers_in_alternation_queue_each_due_run_once(runtime, config_values):
    entries = [{"path": RECORD, "interval": 7}, {"path": RECORD, "cron": "* * * * *"},
               {"path": RECORD, "dailytime": "00:01", "name": "daily"}]
    other = _second_runtime(config_values)
    try:
        a, b = Scheduler(runtime, entries), Scheduler(other, entries)
        start = ts("2026-03-02 00:00:00")
        claimed = collections.Counter()
        for step in range(60):
            now = start + step * 3.5
            first, second = (a, b) if step % 2 == 0 else (b, a)  # alternate who goes first
            for sched in (first, second):
                for run in sched.tick(now):
                    claimed[(run.entry.id, run.due)] += 1
        assert claimed and max(claimed.values()) == 1
        expected = {(e.id, d) for e in a.entries for d in _dues(e, start, start + 59 * 3.5)}
        assert set(claimed) == expected
        assert sum(_jobs_by_due(runtime).values()) == len(expected)
    finally:
        other.close()


def _dues(entry, start, end):
    due = entry.last_run_at_or_before(start)
    out = []
    while due <= end:
        out.append(due)
        due = entry.next_run_after(due)
    return out


def test_concurrent_schedulers_in_threads_queue_each_due_run_once(runtime, config_values):
    entries = [{"path": RECORD, "interval": 2}, {"path": RECORD, "interval": 3, "name": "three"}]
    runtimes = [runtime, _second_runtime(config_values), _second_runtime(config_values)]
    schedulers = [Scheduler(rt, entries) for rt in runtimes]
    barrier = threading.Barrier(len(schedulers))
    claimed: collections.Counter = collections.Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    def drive(sched):
        try:
            for step in range(40):
                barrier.wait(timeout=30)  # every scheduler ticks the same `now` at the same moment
                for run in sched.tick(5000.0 + step):
                    with lock:
                        claimed[(run.entry.id, run.due)] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drive, args=(s,)) for s in schedulers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert max(claimed.values()) == 1
        assert len(claimed) == 20 + 14  # interval 2 over [5000, 5039]: 20 dues; interval 3 (4998..5037): 14
        assert sum(_jobs_by_due(runtime).values()) == len(claimed)
    finally:
        for rt in runtimes[1:]:
            rt.close()


# --- real processes -------------------------------------------------------------------


def test_scheduler_processes_side_by_side_queue_each_due_run_once(config_values, runtime, start_worker):
    config_values["scheduler_tasks"] = [{"path": RECORD, "interval": 0.5, "queue": "periodic"}]
    config_values["metric_hook"] = "tests.tasks.depth_b.count_metric"
    env = worker_env(config_values)
    standalone = subprocess.Popen([sys.executable, "-m", "mrqcore.cli", "scheduler"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        worker = start_worker("periodic", "--scheduler")
        prefix = config_values["redis_prefix"]
        redis = runtime.store.client
        wait_for(lambda: len({json.loads(x)["due"] for x in redis.lrange(prefix + "test:sched-queued", 0, -1)}) >= 8,
                 timeout=60, message="8 due times queued")
        # Both processes took part (each records the claims it won through the metric hook).
        assert worker.proc.poll() is None and standalone.poll() is None
    finally:
        standalone.terminate()
        _, err = standalone.communicate(timeout=30)
    worker.signal(2)  # SIGINT: finish current jobs, exit
    worker.wait(30)
    claims = [json.loads(x)["due"] for x in redis.lrange(prefix + "test:sched-queued", 0, -1)]
    assert len(claims) == len(set(claims)), f"a due time was queued twice: {sorted(claims)}"
    by_due = _jobs_by_due(runtime)
    assert set(by_due) == set(claims) and max(by_due.values()) == 1
    runs = [json.loads(x)["due"] for x in redis.lrange(prefix + "test:runs", 0, -1)]
    assert runs and len(runs) == len(set(runs)), f"a due time ran twice: {sorted(runs)}"
    assert standalone.returncode == 0, err
