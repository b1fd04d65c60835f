"""``app.control`` and ``app.control.inspect()`` against real workers: Celery's arguments and reply shapes.

A real ``mrqc worker -A`` process (gevent pool) for the remote-control calls,
and the in-process test worker (``mrqc.contrib.testing``, solo pool: commands
reach it in a service thread). Effects are checked on the records, the Celery
states and what the tasks recorded, never on timing.
"""
from __future__ import annotations

import socket
import time

import pytest

from mrqcore.exceptions import ConfigError

from mrqc.exceptions import UnsupportedOption
from tests.compat.test_cli_habits import (APP, QA, QB, env, habits, held, mrqc, recorded,  # noqa: F401
                                          release, run_all, spawn)
from tests.conftest import wait_for


def test_no_worker_gives_an_empty_reply_after_the_timeout(habits):
    control = habits.app.control
    started = time.monotonic()
    assert control.ping(timeout=0.3) == []
    assert control.inspect(timeout=0.3).active() is None
    assert control.broadcast("rate_limit", {"task_name": "habits.add", "rate_limit": "1/s"}) is None  # no reply
    assert time.monotonic() - started < 30  # it returned: a broadcast never hangs
    with pytest.raises(ConfigError, match="timeout"):
        control.ping(timeout=0)
    with pytest.raises(ConfigError, match="limit"):
        control.inspect(limit=0).ping()
    with pytest.raises(UnsupportedOption, match="remote-control.md"):
        control.pool_restart()
    with pytest.raises(UnsupportedOption, match="remote-control.md"):
        control.inspect().memdump()


def test_python_api_against_a_live_worker(spawn, runtime, habits):
    app = habits.app
    name = f"api@{socket.gethostname()}"
    # A job on a queue the worker does not serve yet, revoked before any worker takes it.
    waiting = habits.where_b.delay("never")
    worker = spawn("-A", APP, "worker", "-c", "3", "-Q", QA, "-n", "api@%h")
    pong = wait_for(lambda: app.control.ping(destination=[name], timeout=0.5), timeout=60, message="a pong")
    ((worker_id, reply),) = pong[0].items()
    assert reply == {"ok": "pong"} and worker_id.startswith(name + ".")

    replies = app.control.revoke(waiting.id, reply=True, destination=[name], timeout=20)
    assert replies == [{worker_id: {"ok": f"tasks {{'{waiting.id}'}} flagged as revoked"}}]
    assert waiting.state == "REVOKED" and runtime.store.queue_size(QB) == 0

    # inspect: the running task by id, in Celery's shapes; one destination name gives that worker's reply
    job = habits.hold.delay("api")
    wait_for(lambda: held(runtime), timeout=30, message="the hold task running")
    inspect = app.control.inspect(destination=[name], timeout=20)  # returns at the reply
    (active,) = inspect.active()[worker_id]
    assert active["id"] == job.id and active["name"] == "habits.hold" and active["args"] == ["api"]
    assert app.control.inspect(destination=name, timeout=20).active_queues()[0]["name"] == QA
    assert inspect.query_task(job.id)[worker_id] == {job.id: ["active", active]}
    assert "habits.hold" in inspect.registered("rate_limit")[worker_id]
    stats = inspect.stats()[worker_id]
    assert stats["pool"]["max-concurrency"] == 3 and stats["pid"] == worker.proc.pid
    assert inspect.revoked()[worker_id] == [waiting.id]
    seen: list[dict] = []
    app.control.inspect(timeout=20, limit=1, callback=seen.append).ping()
    assert seen == [{worker_id: {"ok": "pong"}}]

    # revoke(terminate=True) through AsyncResult (Celery's call): the job is killed and reads REVOKED
    job.revoke(terminate=True)
    wait_for(lambda: job.state == "REVOKED", timeout=30, message="the job REVOKED")
    assert job.mrq_status == "cancel"

    # time_limit at run time: a hold now ends at its hard limit
    assert app.control.time_limit("habits.hold", hard=0.5, reply=True, destination=[name], timeout=20) == [
        {worker_id: {"ok": "time limits set successfully"}}]
    limited = habits.hold.delay("limited")
    wait_for(lambda: limited.state == "FAILURE", timeout=30, message="the hold stopped by its time limit")
    assert limited.mrq_status == "timeout"
    assert app.control.rate_limit("habits.add", "nonsense", reply=True, destination=[name], timeout=20)[0][worker_id][
        "error"].startswith("Invalid rate limit string")

    # purge: the waiting tasks of the app's queues, counted
    assert app.control.cancel_consumer(QA, reply=True, destination=[name], timeout=20)
    for i in range(3):
        habits.add.delay(i)
    assert app.control.purge() == 3 and runtime.store.queue_size(QA) == 0


def test_the_in_process_test_worker_answers_too(runtime, habits):
    """The solo pool: commands run in a service thread; a terminate reaches the job's thread."""
    from mrqc.contrib.testing import start_worker
    app = habits.app
    with start_worker(app, queues=[QA]) as worker:
        pong = wait_for(lambda: app.control.ping(destination=[worker.id], timeout=0.5), timeout=30,
                        message="a pong")
        assert pong == [{worker.id: {"ok": "pong"}}]
        job = habits.hold.delay("solo")
        wait_for(lambda: held(runtime), timeout=30, message="the hold task running")
        active = app.control.inspect(destination=[worker.id], timeout=20).active()
        assert [task["id"] for task in active[worker.id]] == [job.id]
        grow = app.control.pool_grow(1, reply=True, destination=[worker.id], timeout=20)
        assert "cannot be resized" in grow[0][worker.id]["error"]
        app.control.terminate(job.id)
        wait_for(lambda: job.state == "REVOKED", timeout=30, message="the solo job REVOKED")
