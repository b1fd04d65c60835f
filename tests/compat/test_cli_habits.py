"""The command line as Celery (and MRQ) users type it, run against real worker processes.

Each test starts ``mrqc`` exactly as a Procfile or a k8s manifest would
(``mrqc -A proj worker -c 3 -Q a,b -n name@%h ...``) and checks the effect
through what the tasks recorded (``tests/compat/habits_proj.py``) and what the
store says (``mrqc workers --json``): queues served, concurrency seen by the
tasks, processes, beat entries run, purge counts, the worker's name. No
timing: every wait is a ``wait_for`` on a condition.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import ROOT, wait_for, worker_env

APP = "tests.compat.habits_proj"
QA, QB = "habits-a", "habits-b"


class Mrqc:
    """A ``python -m mrqcore.cli ARGS`` subprocess (the ``mrqc`` console script's code)."""

    def __init__(self, args: list[str], env: dict[str, str], stdin: bool = False) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="mrqc-habits-", suffix=".log", delete=False)
        self.err = tempfile.NamedTemporaryFile(prefix="mrqc-habits-", suffix=".err", delete=False)
        self.proc = subprocess.Popen([sys.executable, "-m", "mrqcore.cli", *args], env=env, cwd=ROOT,
                                     stdout=self.log, stderr=self.err,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)

    def output(self) -> str:
        with open(self.log.name, errors="replace") as out, open(self.err.name, errors="replace") as err:
            return out.read() + err.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for path in (self.log.name, self.err.name):
            os.unlink(path)


@pytest.fixture
def env(config_values: dict[str, Any]) -> dict[str, str]:
    return worker_env(config_values)


@pytest.fixture
def spawn(env: dict[str, str]) -> Iterator[Callable[..., Mrqc]]:
    """``spawn("-A", APP, "worker", ...)``: a long-running mrqc process, stopped after the test."""
    started: list[Mrqc] = []

    def start(*args: str) -> Mrqc:
        process = Mrqc(list(args), env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def mrqc(env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess]:
    """Run one mrqc command to completion (in ``env``, which a test may change first)."""

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mrqcore.cli", *args], env=env, cwd=ROOT, input=stdin,
                              capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture
def habits(runtime: Any) -> Any:
    """The habits app, publishing through this test's runtime."""
    from tests.compat import habits_proj
    habits_proj.app.mrqc_bind_runtime(runtime)
    return habits_proj


def recorded(runtime: Any, name: str) -> list[Any]:
    client = runtime.store.client
    return [json.loads(v) if v.startswith("{") else v
            for v in client.lrange(runtime.config.redis_prefix + "habits:" + name, 0, -1)]


def live_workers(mrqc: Callable[..., subprocess.CompletedProcess]) -> list[dict[str, Any]]:
    out = mrqc("workers", "--json")
    assert out.returncode == 0, out.stderr
    return [w for w in json.loads(out.stdout) if w["alive"] and w["status"] == "running"]


def wait_workers(mrqc: Callable[..., subprocess.CompletedProcess], worker: Mrqc, count: int = 1) -> list[dict]:
    def ready() -> list[dict] | None:
        assert worker.proc.poll() is None, worker.output()
        found = live_workers(mrqc)
        return found if len(found) >= count else None
    return wait_for(ready, timeout=60, message=f"{count} live worker(s)")


def run_all(runtime: Any, results: list[Any], timeout: float = 60) -> list[Any]:
    return [result.get(timeout=timeout) for result in results]


def held(runtime: Any) -> list[dict[str, Any]]:
    return recorded(runtime, "held")


def release(runtime: Any) -> None:
    runtime.store.client.set(runtime.config.redis_prefix + "habits:release", "1")


# --- the worker's flags ----------------------------------------------------------------------

def test_celery_short_flags_with_app_before_the_command(spawn, mrqc, runtime, habits):
    """``mrqc -A proj worker -l INFO -c 3 -Q a,b -n name@%h -P gevent -E -O fair --without-*``."""
    worker = spawn("-A", APP, "worker", "-l", "INFO", "-c", "3", "-Q", f"{QA},{QB}", "-n", "habits@%h",
                   "-P", "gevent", "-E", "-O", "fair", "--without-gossip", "--without-mingle",
                   "--without-heartbeat", "--max-tasks-per-child", "1000", "--max-memory-per-child", "2000000")
    (info,) = wait_workers(mrqc, worker)
    assert info["id"].startswith(f"habits@{socket.gethostname()}.")  # -n with %h expanded
    assert info["queues"] == [QA, QB] and info["greenlets"] == 3
    # Both queues are served...
    tags = run_all(runtime, [habits.where.delay("on-a"), habits.where_b.delay("on-b")])
    assert tags == ["on-a", "on-b"]
    assert {(r["tag"], r["queue"]) for r in recorded(runtime, "where")} == {("on-a", QA), ("on-b", QB)}
    assert all(r["worker"] == info["id"] and r["patched"] for r in recorded(runtime, "where"))
    # ...with 3 tasks at once: 6 holds, 3 run until released, never a 4th beside them.
    results = [habits.hold.delay(i) for i in range(6)]
    wait_for(lambda: len(held(runtime)) >= 3, timeout=30, message="3 holds running")
    release(runtime)
    assert sorted(run_all(runtime, results)) == list(range(6))
    assert max(h["running"] for h in held(runtime)) == 3


def test_celery_long_flags_with_app_after_the_command(spawn, mrqc, runtime, habits):
    """``--concurrency --loglevel --queues (repeated) --hostname (%n) --pool --autoscale`` after ``worker -A``."""
    worker = spawn("worker", "-A", APP, "--concurrency", "2", "--loglevel", "info", "--queues", QA,
                   "--queues", QB, "--hostname", "long-%n", "--pool", "gevent", "--autoscale", "10,3")
    (info,) = wait_workers(mrqc, worker)
    assert info["id"].startswith(f"long-{socket.gethostname().split('.')[0]}.")
    assert info["queues"] == [QA, QB] and info["greenlets"] == 2  # -c wins over --autoscale's max
    results = [habits.hold.delay(i) for i in range(4)]
    wait_for(lambda: len(held(runtime)) >= 2, timeout=30, message="2 holds running")
    release(runtime)
    run_all(runtime, results + [habits.where_b.delay("b")])
    assert max(h["running"] for h in held(runtime)) == 2


def test_autoscale_max_is_the_concurrency(spawn, mrqc, runtime, habits):
    worker = spawn("-A", APP, "worker", "--autoscale", "4,1", "-Q", QA)
    (info,) = wait_workers(mrqc, worker)
    assert info["greenlets"] == 4 and info["queues"] == [QA]


def test_prefork_pool_runs_c_processes_of_one_task_each(spawn, mrqc, runtime, habits):
    worker = spawn("-A", APP, "worker", "-P", "prefork", "-c", "2", "-Q", QA)
    found = wait_workers(mrqc, worker, count=2)
    assert len(found) == 2 and all(w["greenlets"] == 1 for w in found)
    assert len({w["pid"] for w in found}) == 2
    results = [habits.hold.delay(i) for i in range(2)]
    wait_for(lambda: len(held(runtime)) >= 2, timeout=30, message="2 holds running")
    assert len({h["pid"] for h in held(runtime)}) == 2  # one task in each of the two processes
    release(runtime)
    run_all(runtime, results)


def test_solo_pool_runs_in_an_unpatched_process(spawn, mrqc, runtime, habits):
    worker = spawn("-A", APP, "worker", "-P", "solo", "-Q", QA)
    (info,) = wait_workers(mrqc, worker)
    assert info["greenlets"] == 1
    assert run_all(runtime, [habits.where.delay("solo")]) == ["solo"]
    (where,) = recorded(runtime, "where")
    assert where["patched"] is False and where["pid"] == info["pid"]


def test_beat_flag_runs_the_beat_schedule(spawn, mrqc, runtime, habits):
    worker = spawn("-A", APP, "worker", "-B", "-Q", QA)
    wait_workers(mrqc, worker)
    wait_for(lambda: len(recorded(runtime, "ticks")) >= 2, timeout=60, message="two beat ticks")


def test_mrq_underscore_flags(spawn, mrqc, runtime, habits, prefix):
    results = [habits.where.delay(i) for i in range(2)]
    out = mrqc("worker", "-A", APP, "--max_jobs", "1", "--redis_prefix", prefix, "--log_level", "INFO", QA)
    assert out.returncode == 0, out.stdout + out.stderr
    assert len(recorded(runtime, "where")) == 1  # --max_jobs 1: one job, then the worker exits
    assert sorted(r.state for r in results) == ["PENDING", "SUCCESS"]


@pytest.mark.parametrize("args, message", [
    (["worker", f"{QA},{QB}"], f"-Q {QA},{QB}"),
    (["worker", "-P", "eventlet"], "-P eventlet"),
    (["worker", "-P", "threads"], "no thread pool"),
    (["worker", "-P", "solo", "-c", "4"], "one job at a time"),
    (["worker", "-c", "4", "--greenlets", "8"], "disagree"),
    (["worker", "--autoscale", "3,10"], "--autoscale"),
    (["worker", "-n", "w@%i"], "%i"),
    (["worker", "-Q", "a,,b"], "empty queue name"),
])
def test_flags_that_cannot_be_honoured_are_errors(mrqc, args, message):
    out = mrqc("-A", APP, *args)
    assert out.returncode == 2 and message in out.stderr, out.stderr


# --- the other commands ------------------------------------------------------------------------

def test_purge_counts_and_confirms(mrqc, runtime, habits):
    for i in range(3):
        habits.where.delay(i)
    for i in range(2):
        habits.where_b.delay(i)
    out = mrqc("-A", APP, "purge", "-Q", QA, stdin="n\n")
    assert out.returncode == 1 and "Aborted" in out.stderr
    assert runtime.store.queue_size(QA) == 3
    out = mrqc("-A", APP, "purge", "-Q", QA, "-f")
    assert out.returncode == 0 and "Purged 3 messages from 1 known task queue." in out.stdout, out.stderr
    out = mrqc("purge", "-A", APP, stdin="y\n")  # the app's queues: habits-a (empty now) and habits-b
    assert out.returncode == 0 and f"{QB}: 2 purged" in out.stdout and "Purged 2 messages" in out.stdout
    assert mrqc("-A", APP, "purge", "-f").stdout.strip().endswith("No messages purged from 2 queues.")


def test_call_status_and_events_with_a_live_worker(spawn, mrqc, runtime, habits):
    watcher = spawn("-A", APP, "events", "--timeout", "120", "--interval", "0.1")
    wait_for(lambda: "watching" in watcher.output(), timeout=30, message="mrqc events ready")
    worker = spawn("-A", APP, "worker", "-Q", f"{QA},{QB}", "-n", "caller")
    (info,) = wait_workers(mrqc, worker)
    out = mrqc("-A", APP, "call", "habits.add", "--args", "[2]", "--kwargs", '{"y": 3}')
    assert out.returncode == 0, out.stderr
    task_id = out.stdout.strip()
    assert habits.app.AsyncResult(task_id).get(timeout=30) == 5
    out = mrqc("-A", APP, "call", "habits.where", "--args", '["routed"]', "--queue", QB, "--countdown", "0.5")
    assert habits.app.AsyncResult(out.stdout.strip()).get(timeout=30) == "routed"
    assert [r["queue"] for r in recorded(runtime, "where")] == [QB]
    assert mrqc("-A", APP, "call", "habits.add", "--args", '{"x": 1}').returncode == 2  # not a JSON list
    # status: the live worker, as `celery status` lists its nodes
    out = mrqc("-A", APP, "status")
    assert out.returncode == 0 and f"{info['id']}: OK" in out.stdout and "1 node online." in out.stdout
    # events: the call, sent and done, as lines of the live view
    wait_for(lambda: f"task-succeeded  {task_id}" in watcher.output(), timeout=30, message="task-succeeded")
    lines = [line for line in watcher.output().splitlines() if task_id in line]
    assert "task-sent" in lines[0] and "habits.add" in lines[0], lines


def test_events_stops_after_max_events(mrqc, spawn, runtime, habits):
    watcher = spawn("-A", APP, "events", "--max-events", "1", "--json", "--interval", "0.1")
    wait_for(lambda: "watching" in watcher.output(), timeout=30, message="mrqc events ready")
    sent = habits.where.delay("one")
    assert watcher.proc.wait(timeout=30) == 0
    event = json.loads(watcher.output().splitlines()[0])
    assert event["type"] == "task-sent" and event["uuid"] == sent.id and event["queue"] == QA


def test_report_censors_the_settings(mrqc):
    out = mrqc("-A", APP, "report")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("software -> mrqc:") and "app -> habits" in out.stdout
    assert "task_default_queue: 'habits-a'" in out.stdout
    assert "s3cret" not in out.stdout and "'password': '********'" in out.stdout


def test_shell_has_the_app_and_the_tasks(mrqc):
    out = mrqc("-A", APP, "shell", stdin="print(app.main, celery is app, where.name, add(1, 2))\n")
    assert out.returncode == 0, out.stderr
    assert "habits True habits.where 3" in out.stdout


def test_list_bindings_says_why_not(mrqc):
    out = mrqc("list", "bindings")
    assert out.returncode == 1 and "no exchanges or bindings" in out.stderr


def test_the_commands_a_wins_over_the_groups_and_the_environment(mrqc, env):
    env["MRQC_APP"] = "tests.compat.proj"
    assert "app -> tests.compat.proj" in mrqc("report").stdout  # $MRQC_APP
    assert "app -> habits" in mrqc("-A", APP, "report").stdout  # the group's -A beats it
    out = mrqc("-A", "tests.compat.proj", "report", "-A", APP)  # and the command's beats the group's
    assert "app -> habits" in out.stdout, out.stderr


def test_node_name_expansion_as_celery():
    from mrqcore.worker_flags import expand_node_name, parse_autoscale, queue_names
    host = "web-1.eu.example.com"
    assert expand_node_name("w@%h", host) == "w@web-1.eu.example.com"
    assert expand_node_name("%n-%d", host) == "web-1-eu.example.com"
    assert expand_node_name("100%%@%n", host) == "100%@web-1"
    assert parse_autoscale("10,3") == 10 and parse_autoscale("4") == 4
    assert queue_names(("a",), ("b,c", "a")) == ["a", "b", "c"]


def test_rate_limit_spaces_calls_across_workers(spawn, mrqc, runtime, habits):
    """rate_limit="5/s" on two workers of 10 greenlets: one call every 0.2 s in all, measured from the
    start times the task recorded on Redis's clock; a call that waits is not a retry."""
    results = [habits.spaced.delay(i) for i in range(8)]
    first = spawn("-A", APP, "worker", "-c", "10", "-Q", QA)
    second = spawn("-A", APP, "worker", "-c", "10", "-Q", QA)
    wait_workers(mrqc, first, count=1)
    wait_workers(mrqc, second, count=2)
    assert sorted(run_all(runtime, results)) == list(range(8))
    starts = sorted(r["at"] for r in recorded(runtime, "spaced"))
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.2 - 0.1, gaps  # tolerance: the time between a call's slot and its record
    assert starts[-1] - starts[0] >= 7 * 0.2 - 0.1, gaps
    assert all(r.retries == 0 for r in results)
