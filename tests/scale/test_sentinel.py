"""Redis Sentinel on real servers: a primary, a replica and three sentinels on loopback ports.

The failover test runs jobs through ``mrqc worker`` subprocesses on a
``redis+sentinel://`` URL with WAIT on (``min_replicas=1``), SIGKILLs the
primary mid-run and checks that the run completes on the promoted replica:
no job whose enqueue returned before the kill is lost; reruns (a dequeue
that had not reached the replica) are counted and reported, not failed.
A missing redis-server skips on a laptop and fails in CI.
"""
from __future__ import annotations

import collections
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from mrqcore.config import Config
from mrqcore.exceptions import ConfigError
from mrqcore.job import queue_job
from mrqcore.runtime import Runtime
from mrqcore.store import open_store
from mrqcore.store.redis_sentinel import SentinelJobStore, parse_sentinel_url
from mrqcore.urls import mask_url
from tests.conftest import ROOT, wait_for, worker_env
from tests.redis_server import sentinel_set, shared_sentinel_set  # noqa: F401 - fixtures

TASK = "tests.scale.tasks.RecordRun"
QUEUE = "sentinel_q"
JOBS = 400


# Two replicas: after the failover one is left to acknowledge the WAITs of the new master.
@pytest.mark.parametrize("sentinel_set", [2], indirect=True)
def test_failover_mid_run_loses_no_acknowledged_job(sentinel_set, config_values: dict[str, Any],  # noqa: F811
                                                    start_worker, tmp_path, capsys, caplog) -> None:
    url = sentinel_set.url(query="min_replicas=1&wait_timeout_ms=2000")
    config_values.update(redis=url, worker_lost_after=5.0)
    runs_file = str(tmp_path / "runs.txt")
    open(runs_file, "w").close()
    runtime = Runtime(Config(config_values))
    store = runtime.store
    assert isinstance(store, SentinelJobStore) and store.min_replicas == 1
    # Waiters subscribed on the old primary must resubscribe on the new one.
    notify = store.notify_waiter()
    late_id = "late-job"
    late_done = store.done_waiter(late_id)
    workers = [start_worker(QUEUE, "--greenlets", "4") for _ in range(2)]

    acked: list[str] = []
    acked_at: list[float] = []
    short: list[str] = []  # acknowledged by the master only (the WAIT timed out): a failover may lose these
    ambiguous: list[str] = []  # enqueue calls that raised (the master died under them); retried, same id
    stop_enqueuing = threading.Event()

    def enqueue_all() -> None:
        for i in range(JOBS):
            job_id = f"job-{i:04d}"
            while True:
                try:
                    short_before = store.short_writes_total
                    queue_job(TASK, {"runs_file": runs_file, "sleep": 0.01}, QUEUE, job_id=job_id, runtime=runtime)
                    if store.short_writes_total > short_before:
                        short.append(job_id)  # its WAIT came back short: in the documented window
                    break
                except Exception as exc:  # noqa: BLE001 - any failure is retried and counted
                    if not store.is_transient(exc) or stop_enqueuing.is_set():
                        raise
                    ambiguous.append(job_id)
                    time.sleep(0.05)
            acked.append(job_id)
            acked_at.append(time.time())
            time.sleep(0.01)

    enqueuer = threading.Thread(target=enqueue_all, daemon=True)
    started = time.time()
    enqueuer.start()
    try:
        wait_for(lambda: len(acked) >= JOBS // 3 and _count_lines(runs_file) >= JOBS // 6, timeout=30,
                 message="a third of the jobs queued and some run")
        acknowledged_before_kill = list(acked)
        killed_at = time.time()
        sentinel_set.primary.stop(kill=True)  # SIGKILL
        wait_for(sentinel_set.promoted, timeout=30, interval=0.05, message="the sentinels to promote a replica")
        promoted_at = time.time()
        enqueuer.join(45)
        assert not enqueuer.is_alive(), "the enqueuer did not finish"
    finally:
        stop_enqueuing.set()

    assert len(acked) == JOBS

    def statuses() -> dict[str, str | None]:
        records = store.get_many(acked, ["status"])
        return {job_id: (record or {}).get("status") for job_id, record in zip(acked, records)}

    # Wait for the run to complete, then report the counts whether or not it did (a failure names them).
    try:
        wait_for(lambda: all(s == "success" for s in statuses().values()), timeout=90, interval=0.2,
                 message="every acknowledged job to succeed after the failover")
    except AssertionError:
        pass  # the counts below say what is missing
    final = statuses()
    lost_before_kill = [j for j in acknowledged_before_kill if final.get(j) != "success"]
    lost = [j for j, s in final.items() if s != "success"]
    runs = collections.Counter(line for line in open(runs_file).read().split())
    duplicates = {job_id: n for job_id, n in runs.items() if n > 1}
    done_at = [float(r["datedone"]) for r in store.get_many(acked, ["datedone"]) if r and r.get("datedone")]
    summary = (f"[sentinel failover] jobs={JOBS} acknowledged_before_kill={len(acknowledged_before_kill)} "
               f"lost_before_kill={len(lost_before_kill)} lost_total={len(lost)} "
               f"duplicate_runs={sum(n - 1 for n in duplicates.values())} (jobs run twice: {sorted(duplicates)}) "
               f"enqueue_retries={len(ambiguous)} short_enqueues={len(short)} "
               f"short_wait_warnings={sum('replicas acknowledged' in r.getMessage() for r in caplog.records)} "
               f"promoted_after={promoted_at - killed_at:.2f}s "
               f"longest_enqueue_gap={_longest_gap(acked_at):.2f}s longest_finish_gap={_longest_gap(done_at):.2f}s "
               f"run_total={time.time() - started:.2f}s "
               f"failovers={max(s.log().count('+switch-master') for s in sentinel_set.sentinels)}; statuses of the lost: "
               f"{collections.Counter(final[j] for j in lost)}")
    with capsys.disabled():
        print("\n" + summary)
    assert lost_before_kill == [], f"jobs acknowledged before the kill were lost: {lost_before_kill}; {summary}"
    # A job lost after the kill must be one the store said was at risk: an enqueue whose WAIT came back short
    # (lost record), or a finish batch whose WAIT came back short in a worker (record left at started).
    worker_short_finishes = sum(w.output().count("finish: only") for w in workers)
    assert [j for j in lost if final[j] is None and j not in short] == [], summary
    assert [j for j in lost if final[j] is not None and final[j] != "started"] == [], summary
    assert worker_short_finishes or not [j for j in lost if final[j] == "started"], summary
    assert set(runs) == set(acked), "every job ran at least once"

    # The waiters that were subscribed on the dead primary come back on the new one.
    keys = store.keys
    wait_for(lambda: (late_done.wait(0.1), _subscribers(store, keys.done_channel(late_id)))[1], timeout=20,
             message="the job waiter to resubscribe on the new master")
    wait_for(lambda: (notify.wait(0.1), _subscribers(store, keys.notify_channel))[1], timeout=20,
             message="the notify waiter to resubscribe on the new master")
    notify.wait(0)  # drop the wake-ups of the run itself
    queue_job(TASK, {"runs_file": runs_file}, QUEUE, job_id=late_id, runtime=runtime)
    assert wait_for(lambda: late_done.wait(0.5), timeout=20, message="the late job's done message")
    assert notify.wait(5.0)
    notify.close()
    late_done.close()
    runtime.close()

    # The admin CLI and recovery work on the sentinel URL as on any other.
    for command in (["status"], ["queues"], ["ping"], ["recover"]):
        done = subprocess.run([sys.executable, "-m", "mrqcore.cli", *command], env=worker_env(config_values),
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert done.returncode == 0, f"mrqc {command[0]}: {done.stdout}{done.stderr}"
        if command[0] in ("status", "queues"):
            assert QUEUE in done.stdout, done.stdout


def test_scheduler_worker_and_dashboard_run_on_the_sentinel_url(shared_sentinel_set, config_values,  # noqa: F811
                                                                 run_burst, tmp_path) -> None:
    from tests.dashboard.conftest import Dashboard, Http
    runs_file = str(tmp_path / "runs.txt")
    config_values.update(redis=shared_sentinel_set.url(), scheduler_tasks=[
        {"path": TASK, "params": {"runs_file": runs_file}, "interval": 3600, "queue": QUEUE}])
    env = worker_env(config_values)
    done = subprocess.run([sys.executable, "-m", "mrqcore.cli", "scheduler", "--once"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    run_burst(QUEUE)
    assert _count_lines(runs_file) == 1
    dashboard = Dashboard([], env)
    try:
        jobs = Http(dashboard.url).get_json("/api/jobs")
        assert TASK in str(jobs) and "success" in str(jobs), jobs
    finally:
        dashboard.stop()


def test_store_answers_on_the_master_and_waits_for_the_replica(sentinel_set, prefix) -> None:  # noqa: F811
    store = open_store(sentinel_set.url(query="min_replicas=1"), prefix)
    try:
        assert int(store.client.info("server")["tcp_port"]) == sentinel_set.primary.port
        from mrqcore.store.base import JobSpec
        assert store.enqueue([JobSpec("j1", "q", {"path": TASK}, 0.0)], time.time()) == []
        # WAIT returned: the replica has the record now, before anyone reads it.
        import redis
        replica = redis.Redis(port=sentinel_set.replicas[0].port, decode_responses=True)
        assert replica.hget(prefix + "job:j1", "status") == "queued"
    finally:
        store.close()


def test_too_few_replicas_in_time_is_a_warning_naming_the_counts(sentinel_set, prefix, caplog) -> None:  # noqa: F811
    store = open_store(sentinel_set.url(query="min_replicas=2&wait_timeout_ms=100"), prefix)
    try:
        from mrqcore.store.base import JobSpec
        with caplog.at_level("WARNING", logger="mrqc.store"):
            assert store.enqueue([JobSpec("j1", "q", {"path": TASK}, 0.0)], time.time()) == []
        assert "enqueue: only 1 of 2 replicas acknowledged within 100 ms" in caplog.text
        assert store.get("j1", ["status"]) == {"status": "queued"}
    finally:
        store.close()


def test_sentinel_url_forms_and_errors() -> None:
    parsed = parse_sentinel_url("redis+sentinel://:pw@h1:26379,h2:26380/mymaster/2"
                                "?sentinel_password=spw&min_replicas=1&wait_timeout_ms=50&socket_timeout=3")
    assert parsed.sentinels == [("h1", 26379), ("h2", 26380)]
    assert (parsed.master_name, parsed.db, parsed.password, parsed.sentinel_password) == ("mymaster", 2, "pw", "spw")
    assert (parsed.min_replicas, parsed.wait_timeout_ms, parsed.options) == (1, 50, {"socket_timeout": 3.0})
    kombu = parse_sentinel_url("sentinel://:pw@h1:26379;sentinel://:pw@h2:26379/1?master_name=mymaster")
    assert (kombu.sentinels, kombu.master_name, kombu.db) == ([("h1", 26379), ("h2", 26379)], "mymaster", 1)
    assert parse_sentinel_url("sentinel://h1/m").sentinels == [("h1", 26379)]
    bad = {
        "sentinel://:secret@h1:26379/": "no master name",
        "sentinel://:secret@h1:x/m": "sentinel port must be a whole number",
        "sentinel://:secret@h1:1/m?min_replica=1": "did you mean 'min_replicas'",
        "sentinel://:secret@h1:1/m?min_replicas=-1": "min_replicas must be >= 0",
        "sentinel://:secret@/m": "no sentinel host",
        "sentinel://:secret@h1:1/a/b/c": "the path is /master_name/db",
    }
    for url, message in bad.items():
        with pytest.raises(ConfigError) as info:
            parse_sentinel_url(url)
        assert message in str(info.value) and "secret" not in str(info.value), str(info.value)


def test_sentinel_passwords_are_masked() -> None:
    shown = mask_url("redis+sentinel://:pw1@h1:1,h2:2/m/0?sentinel_password=pw2&min_replicas=1")
    assert "pw1" not in shown and "pw2" not in shown and "min_replicas=1" in shown
    shown = mask_url("sentinel://:pw1@h1:1;sentinel://u:pw2@h2:2/0?master_name=m")
    assert "pw1" not in shown and "pw2" not in shown and "u:********@h2" in shown
    shown = mask_url("sentinel://h1:1/m?sentinel_passwrd=pw3&min_replicas=1")  # misspelled: still a secret
    assert "pw3" not in shown and "min_replicas=1" in shown
    shown = mask_url("sentinel://:se;cret@h1:1;sentinel://h2:2/0?master_name=m")  # a ";" inside a password
    assert "se" not in shown.replace("sentinel", "") and "cret" not in shown, shown
    assert parse_sentinel_url("sentinel://:se;cret@h1:1;sentinel://h2:2/0?master_name=m").password == "se;cret"


def test_celery_sentinel_broker_url_with_master_name(sentinel_set) -> None:  # noqa: F811
    from mrqc import Celery
    hosts = ";".join(f"sentinel://127.0.0.1:{s.port}" for s in sentinel_set.sentinels)
    app = Celery("sentinel_app", broker=hosts + "/0", set_as_current=False)
    app.conf.broker_transport_options = {"master_name": sentinel_set.master_name,
                                         "global_keyprefix": "sentinel-app:"}
    runtime = app.runtime
    assert isinstance(runtime.store, SentinelJobStore)
    assert int(runtime.store.client.info("server")["tcp_port"]) == sentinel_set.primary.port
    assert runtime.config.redis_prefix == "sentinel-app:"
    runtime.close()


def _longest_gap(times: list[float]) -> float:
    """The longest time between two consecutive events: the outage as the clients or the workers saw it."""
    ordered = sorted(times)
    return max((b - a for a, b in zip(ordered, ordered[1:])), default=0.0)


def _count_lines(path: str) -> int:
    with open(path) as fh:
        return sum(1 for _ in fh)


def _subscribers(store: Any, channel: str) -> bool:
    try:
        return int(dict(store.client.pubsub_numsub(channel)).get(channel, 0)) > 0
    except store.connection_errors:
        return False
