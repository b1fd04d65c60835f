"""``mrqc -A proj inspect ...`` and ``mrqc -A proj control ...`` against a real ``mrqc worker`` process.

Each command line is run as a user types it, and its effect is checked where it
shows: the replies, the job's record and Celery state, what the tasks recorded
(``tests/compat/habits_proj.py``: how many ran at once, their start times on
Redis's clock), the queues served, the worker process's exit. No timing: every
wait is a ``wait_for`` on a condition; spacing is measured from the tasks' own
timestamps.
"""
from __future__ import annotations

import json
import socket
import subprocess
import time
from typing import Any, Callable

from tests.compat.test_cli_habits import (APP, QA, QB, env, habits, held, mrqc, recorded,  # noqa: F401
                                          release, run_all, spawn)
from tests.conftest import wait_for

Run = Callable[..., subprocess.CompletedProcess]


def node(name: str) -> str:
    return f"{name}@{socket.gethostname()}"


def wait_ping(mrqc: Run, worker: Any, name: str) -> str:
    """Ping the worker by name until it answers; returns its full id (name plus suffix)."""
    def answered() -> str | None:
        assert worker.proc.poll() is None, worker.output()
        out = mrqc("-A", APP, "inspect", "ping", "-d", name, "-t", "0.5", "-j")
        return next(iter(json.loads(out.stdout))) if out.returncode == 0 else None
    return wait_for(answered, timeout=60, message=f"{name} answers ping")


def inspect_json(mrqc: Run, command: str, name: str, *args: str) -> Any:
    out = mrqc("-A", APP, "inspect", command, *args, "-d", name, "-j", "-t", "20")  # returns at the reply
    assert out.returncode == 0, out.stdout + out.stderr
    (reply,) = json.loads(out.stdout).values()
    return reply


def control(mrqc: Run, name: str, *args: str) -> str:
    out = mrqc("-A", APP, "control", *args, "-d", name, "-t", "20")
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_inspect_revoke_terminate_and_pool_size(spawn, mrqc, runtime, habits):
    name = node("ctl")
    worker = spawn("-A", APP, "worker", "-c", "2", "-Q", QA, "-n", "ctl@%h")
    worker_id = wait_ping(mrqc, worker, name)
    job = habits.hold.delay("first")
    wait_for(lambda: held(runtime), timeout=30, message="the hold task running")

    # inspect: the running task, Celery's Request.info shape; the plain text output as celery's
    (active,) = inspect_json(mrqc, "active", name)
    assert (active["id"], active["name"], active["args"], active["hostname"]) == (job.id, "habits.hold", ["first"],
                                                                                 worker_id)
    assert active["delivery_info"]["routing_key"] == QA and active["worker_pid"] == worker.proc.pid
    out = mrqc("-A", APP, "inspect", "registered", "-d", name, "-t", "20")
    assert f"->  {worker_id}: OK" in out.stdout and "* habits.spaced [rate_limit=5/s]" in out.stdout, out.stdout
    assert out.stdout.rstrip().endswith("1 node online.")
    assert inspect_json(mrqc, "reserved", name) == [] and inspect_json(mrqc, "scheduled", name) == []
    assert inspect_json(mrqc, "stats", name)["pool"]["max-concurrency"] == 2

    # revoke --terminate: the running job is killed, ends cancel, reads REVOKED, and is remembered
    out = control(mrqc, name, "revoke", job.id, "--terminate")
    assert f"terminate: {job.id}" in out
    wait_for(lambda: job.state == "REVOKED", timeout=30, message="the terminated job REVOKED")
    assert job.mrq_status == "cancel"
    assert inspect_json(mrqc, "revoked", name) == [job.id]
    second = habits.hold.delay("second")  # Celery's other spelling: control terminate SIGNAL ID
    wait_for(lambda: len(held(runtime)) >= 2, timeout=30, message="the second hold running")
    assert f"terminate: {second.id}" in control(mrqc, name, "terminate", "SIGKILL", second.id)
    wait_for(lambda: second.state == "REVOKED", timeout=30, message="the second job REVOKED")

    # pool_grow 2: four at once (never a fifth); pool_shrink 3: one at a time
    assert "pool will grow" in control(mrqc, name, "pool_grow", "2")
    assert inspect_json(mrqc, "stats", name)["pool"]["max-concurrency"] == 4
    before = len(held(runtime))
    results = [habits.hold.delay(i) for i in range(5)]
    wait_for(lambda: len(held(runtime)) >= before + 4, timeout=30, message="4 holds running")
    release(runtime)
    run_all(runtime, results)
    assert max(h["running"] for h in held(runtime)[before:]) == 4
    assert "pool will shrink" in control(mrqc, name, "pool_shrink", "3")
    assert inspect_json(mrqc, "stats", name)["pool"]["max-concurrency"] == 1
    runtime.store.client.delete(runtime.config.redis_prefix + "habits:release")
    before = len(held(runtime))
    results = [habits.hold.delay(i) for i in range(2)]
    wait_for(lambda: len(held(runtime)) > before, timeout=30, message="a hold running")
    release(runtime)
    run_all(runtime, results)
    assert [h["running"] for h in held(runtime)[before:]] == [1, 1]  # the second started after the first


def test_queues_rate_limit_shutdown_and_no_worker(spawn, mrqc, runtime, habits):
    name = node("ctlq")
    worker = spawn("-A", APP, "worker", "-c", "10", "-Q", QA, "-n", "ctlq@%h")
    wait_ping(mrqc, worker, name)

    # rate_limit at run time: habits.spaced is declared 5/s (0.2 s apart); 2/s spaces them 0.5 s apart
    assert "new rate limit set successfully" in control(mrqc, name, "rate_limit", "habits.spaced", "2/s")
    out = mrqc("-A", APP, "control", "rate_limit", "habits.nope", "2/s", "-d", name, "-t", "20")
    assert "ERROR" in out.stdout and "unknown task" in out.stdout
    assert sorted(run_all(runtime, [habits.spaced.delay(i) for i in range(4)])) == list(range(4))
    starts = sorted(r["at"] for r in recorded(runtime, "spaced"))
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.5 - 0.1, gaps  # tolerance: the time between a call's slot and its record

    # add_consumer / cancel_consumer: the queues served change
    assert f"add consumer {QB}" in control(mrqc, name, "add_consumer", QB)
    assert [q["name"] for q in inspect_json(mrqc, "active_queues", name)] == [QA, QB]
    assert run_all(runtime, [habits.where_b.delay("on-b")]) == ["on-b"]
    assert f"no longer consuming from {QA}" in control(mrqc, name, "cancel_consumer", QA)
    assert [q["name"] for q in inspect_json(mrqc, "active_queues", name)] == [QB]
    left = habits.where.delay("left on a")  # queued before the next one: served first if QA were still served
    assert run_all(runtime, [habits.where_b.delay("b again")]) == ["b again"]
    assert left.state == "PENDING" and runtime.store.queue_size(QA) == 1
    out = mrqc("-A", APP, "purge", "-Q", QA, "-f")
    assert "Purged 1 message from 1 known task queue." in out.stdout, out.stdout + out.stderr
    assert "time limits set successfully" in control(mrqc, name, "time_limit", "habits.add", "5", "10")

    # shutdown: the worker exits; then a broadcast reaches no worker and ends after its timeout
    assert "shutting down" in control(mrqc, name, "shutdown")
    assert worker.proc.wait(timeout=30) == 0
    out = mrqc("-A", APP, "inspect", "ping", "-t", "0.5")
    assert out.returncode == 69 and "No nodes replied within time constraint" in out.stderr


def test_bad_command_lines_are_usage_errors(mrqc):
    out = mrqc("-A", APP, "inspect", "nonsense")
    assert out.returncode == 2 and "nonsense" in out.stderr
    out = mrqc("-A", APP, "control", "pool_grow", "many", "-t", "0.1")
    assert out.returncode == 2 and "n must be a whole number, got 'many'" in out.stderr
    out = mrqc("-A", APP, "control", "rate_limit", "--terminate", "a", "1/s", "-t", "0.1")
    assert out.returncode == 2 and "--terminate goes with revoke" in out.stderr


def test_admin_commands_use_the_apps_broker(mrqc, env, runtime, habits, redis_url, prefix, tmp_path):
    """``-A proj`` alone (no MRQC_REDIS, no --redis) makes jobs/queues/workers/status/cancel/requeue read the
    app's broker and key prefix (``broker_transport_options["global_keyprefix"]``)."""
    (tmp_path / "brokered_app.py").write_text(
        "from mrqc import Celery\n"
        f"app = Celery('brokered', broker={redis_url!r}, set_as_current=False)\n"
        f"app.conf.broker_transport_options = {{'global_keyprefix': {prefix!r}}}\n")
    for name in ("MRQC_REDIS", "MRQC_REDIS_PREFIX"):
        env.pop(name, None)
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    sent = [habits.where.apply_async((i,), queue="brokered") for i in range(2)]
    runtime.store.heartbeat("fake@host.abc123", {"status": "running", "queues": "brokered", "heartbeat": "0"},
                            60, time.time())

    def run(*args: str) -> Any:
        out = mrqc("-A", "brokered_app", *args, "--json")
        assert out.returncode == 0, out.stdout + out.stderr
        return json.loads(out.stdout)

    assert {q["name"]: q["size"] for q in run("queues")}["brokered"] == 2
    assert sorted(j["id"] for j in run("jobs", "--queue", "brokered")) == sorted(r.id for r in sent)
    assert [w["id"] for w in run("workers")] == ["fake@host.abc123"]
    assert run("status")["by_queue"]["brokered"]["queued"] == 2
    assert sorted(run("cancel", "--queue", "brokered")["cancelled"]) == sorted(r.id for r in sent)
    assert all(r.state == "REVOKED" for r in sent)
    assert sorted(run("requeue", "--queue", "brokered")["requeued"]) == sorted(r.id for r in sent)
    assert runtime.store.queue_size("brokered") == 2
