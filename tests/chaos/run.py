"""The chaos controller: one Redis, N counted jobs, workers killed and restarted until every job is done.

``run_chaos(ChaosOptions(...))`` returns a ``ChaosReport``; ``python -m tests.chaos``
prints it. Nothing here is mocked: the workers are ``python -m mrqcore.cli worker``
processes, Redis is a real ``redis-server`` this run starts, and the counts are
read back from Redis.

Recovery settings the workers get (see docs/recovery.md): ``worker_lost_after``
``--lost-after`` seconds (default 3) and ``heartbeat_interval`` 0.5 s, so the
jobs of a SIGKILLed worker are requeued a few seconds after the kill.
"""
from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUEUE = "chaos"
TASK = "tests.chaos.tasks.Record"
#: statuses after which a job is done; ``interrupt`` is not: recovery requeues it
DONE = frozenset({"success", "failed", "cancel", "abort", "timeout", "maxretries"})


@dataclass
class ChaosOptions:
    jobs: int = 1000
    workers: int = 3
    greenlets: int = 10
    job_sleep: float = 0.02
    kill_every: float = 3.0
    min_kills: int = 5
    sigterms: int = 1
    redis_restarts: int = 1
    lost_after: float = 3.0
    timeout: float = 900.0
    seed: int | None = None
    keep_dir: bool = False
    log: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))


@dataclass
class ChaosReport:
    jobs: int = 0
    kills: int = 0
    sigterms: int = 0
    redis_restarts: int = 0
    worker_crashes: int = 0
    lost: int = 0
    not_success: dict[str, int] = field(default_factory=dict)
    run_twice: int = 0
    max_runs: int = 0
    unrecorded: int = 0
    requeue_after_kill: list[float] = field(default_factory=list)
    recover_after_kill: list[float] = field(default_factory=list)
    recover_after_redis: list[float] = field(default_factory=list)
    total_time: float = 0.0
    persistence: str = "appendonly yes, appendfsync always"
    directory: str = ""

    @property
    def ok(self) -> bool:
        return self.lost == 0 and not self.not_success and self.unrecorded == 0

    def lines(self) -> list[str]:
        def seconds(values: list[float]) -> str:
            if not values:
                return "n/a"
            return f"max {max(values):.1f}s, median {statistics.median(values):.1f}s over {len(values)}"
        return [
            f"jobs:               {self.jobs}",
            f"kills (SIGKILL):    {self.kills}",
            f"SIGTERMs:           {self.sigterms}",
            f"Redis restarts:     {self.redis_restarts}  ({self.persistence})",
            f"worker crashes:     {self.worker_crashes}  (exits nobody asked for)",
            f"lost:               {self.lost}",
            f"not success:        {sum(self.not_success.values())} {self.not_success or ''}".rstrip(),
            f"run twice or more:  {self.run_twice}  (most runs of one job: {self.max_runs})",
            f"success, no run:    {self.unrecorded}",
            f"requeue per kill:   {seconds(self.requeue_after_kill)}  (kill -> every job it held requeued or done)",
            f"recovery per kill:  {seconds(self.recover_after_kill)}  (kill -> every job it held done)",
            f"recovery of Redis:  {seconds(self.recover_after_redis)}  (Redis back -> jobs finishing again)",
            f"total time:         {self.total_time:.1f}s",
            "result:             " + ("OK" if self.ok else "FAILED"),
        ]


class _Worker:
    """One ``mrqc worker`` process in a slot; ``name`` is unique per process (slot and generation)."""

    def __init__(self, slot: int, generation: int, env: dict[str, str], directory: str, greenlets: int) -> None:
        self.name = f"chaos-w{slot}-g{generation}"
        self.started = time.monotonic()
        self.log_path = os.path.join(directory, f"{self.name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mrqcore.cli", "worker", QUEUE, "--greenlets", str(greenlets),
             "--name", self.name], env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def close(self) -> None:
        self.log.close()


class _Chaos:
    def __init__(self, options: ChaosOptions) -> None:
        from tests.redis_server import RedisServer
        self.o = options
        self.rng = random.Random(options.seed)
        self.directory = tempfile.mkdtemp(prefix="mrqc-chaos-")
        self.server = RedisServer(os.path.join(self.directory, "redis"), persistent=True)
        self.prefix = "chaos:"
        self.runs_key = self.prefix + "runs"
        self.report = ChaosReport(jobs=options.jobs, directory=self.directory)
        self.workers: list[_Worker] = []
        self.generation = 0
        self.pending: set[str] = set()
        #: per kill: (kill time, ids the killed worker held, its worker ids); and those not yet requeued
        self.watch: list[tuple[float, set[str], set[str]]] = []
        self.unrequeued: list[tuple[float, set[str], set[str]]] = []
        self.redis_back_at: float | None = None

    # --- set-up -------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MRQC_")}
        env.update({"PYTHONPATH": os.pathsep.join([ROOT, env.get("PYTHONPATH", "")]),
                    "MRQC_REDIS": self.server.url, "MRQC_REDIS_PREFIX": self.prefix,
                    "MRQC_WORKER_LOST_AFTER": str(self.o.lost_after), "MRQC_HEARTBEAT_INTERVAL": "0.5",
                    "MRQC_POLL_INTERVAL": "0.5", "MRQC_LOG_LEVEL": "WARNING"})
        return env

    def start_worker(self, slot: int) -> _Worker:
        self.generation += 1
        worker = _Worker(slot, self.generation, self.env(), self.directory, self.o.greenlets)
        if slot < len(self.workers):
            self.workers[slot].close()
            self.workers[slot] = worker
        else:
            self.workers.append(worker)
        return worker

    def queue_all(self) -> None:
        from mrqcore.config import Config
        from mrqcore.job import queue_jobs
        from mrqcore.runtime import Runtime
        runtime = Runtime(Config({"redis": self.server.url, "redis_prefix": self.prefix}))
        try:
            ids = queue_jobs(TASK, ({"n": n, "runs": self.runs_key, "sleep": self.o.job_sleep}
                                    for n in range(self.o.jobs)), queue=QUEUE, runtime=runtime)
        finally:
            runtime.close()
        self.pending = set(ids)

    # --- the run ------------------------------------------------------------------

    def run(self) -> ChaosReport:
        started = time.monotonic()
        self.server.start()
        self.client = redis.Redis(port=self.server.port, decode_responses=True, socket_timeout=5)
        try:
            self.queue_all()
            self.o.log(f"queued {self.o.jobs} jobs; Redis on port {self.server.port}; files in {self.directory}")
            for slot in range(self.o.workers):
                self.start_worker(slot)
            self.loop(started)
            self.finish_report()
        finally:
            for worker in self.workers:
                if worker.proc.poll() is None:
                    worker.proc.send_signal(signal.SIGTERM)
            for worker in self.workers:
                try:
                    worker.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.proc.kill()
                worker.close()
            self.server.stop()
            if not self.o.keep_dir and self.report.ok and not self.report.worker_crashes:
                import shutil
                shutil.rmtree(self.directory, ignore_errors=True)
        self.report.total_time = time.monotonic() - started
        return self.report

    def loop(self, started: float) -> None:
        o, report = self.o, self.report
        deadline = started + o.timeout
        next_kill = time.monotonic() + o.kill_every
        # Fractions of progress by which each event must have happened (a fast run still gets them).
        kill_marks = [(i + 1) / (o.min_kills + 2) for i in range(o.min_kills)]
        term_marks = [0.3 + 0.1 * i for i in range(o.sigterms)]
        redis_marks = [0.5 + 0.1 * i for i in range(o.redis_restarts)]
        while self.pending and time.monotonic() < deadline:
            self.refresh_pending()
            done = 1 - len(self.pending) / max(1, o.jobs)
            if not self.pending:
                break
            now = time.monotonic()
            if now >= next_kill or (kill_marks and done >= kill_marks[0] and report.kills < o.min_kills):
                self.kill_one()
                if kill_marks and done >= kill_marks[0]:
                    kill_marks.pop(0)
                next_kill = time.monotonic() + o.kill_every
            if term_marks and done >= term_marks[0]:
                term_marks.pop(0)
                self.sigterm_one()
            if redis_marks and done >= redis_marks[0]:
                redis_marks.pop(0)
                self.restart_redis()
            self.replace_crashed()
            time.sleep(0.2)

    def pick(self) -> int:
        """A random slot, among workers up for a second or more if any (a fresh one holds no jobs yet)."""
        settled = [slot for slot, w in enumerate(self.workers) if time.monotonic() - w.started >= 1.0]
        return self.rng.choice(settled or list(range(len(self.workers))))

    def kill_one(self) -> None:
        slot = self.pick()
        worker = self.workers[slot]
        worker.proc.kill()
        worker.proc.wait()
        held, ids = self.held_by(worker.name)
        self.watch.append((time.monotonic(), held, ids))
        self.unrequeued.append(self.watch[-1])
        self.report.kills += 1
        self.o.log(f"SIGKILL {worker.name} holding {len(held)} jobs; {len(self.pending)} jobs left")
        self.start_worker(slot)

    def sigterm_one(self) -> None:
        slot = self.pick()
        worker = self.workers[slot]
        worker.proc.send_signal(signal.SIGTERM)
        code = worker.proc.wait(timeout=60)
        self.report.sigterms += 1
        self.o.log(f"SIGTERM {worker.name}: exited with {code}; {len(self.pending)} jobs left")
        self.start_worker(slot)

    def restart_redis(self) -> None:
        self.o.log(f"restarting Redis; {len(self.pending)} jobs left")
        self.server.restart()
        self.redis_back_at = time.monotonic()
        self.report.redis_restarts += 1

    def replace_crashed(self) -> None:
        for slot, worker in enumerate(self.workers):
            code = worker.proc.poll()
            if code is not None:
                self.report.worker_crashes += 1
                try:
                    with open(worker.log_path, errors="replace") as fh:
                        tail = "".join(fh.readlines()[-15:])
                except OSError:
                    tail = "(no log)"
                self.o.log(f"worker {worker.name} exited by itself with {code}; see {worker.log_path}; its last "
                           f"lines:\n{tail}")
                self.start_worker(slot)

    def held_by(self, name: str) -> tuple[set[str], set[str]]:
        """The ids of the jobs the process called ``name`` held, and its worker ids."""
        held: set[str] = set()
        ids: set[str] = set()
        key_start = len(f"{self.prefix}inflight:")
        for attempt in range(50):
            try:
                for key in self.client.scan_iter(match=f"{self.prefix}inflight:{name}.*"):
                    ids.add(key[key_start:])
                    held.update(self.client.zrange(key, 0, -1))
                return held, ids
            except redis.ConnectionError:
                time.sleep(0.2)
        return held, ids

    def note_requeues(self, now: float) -> None:
        """Kills whose every held job has left that worker (requeued, started elsewhere, or done)."""
        for entry in list(self.unrequeued):
            killed_at, held, worker_ids = entry
            pipe = self.client.pipeline(transaction=False)
            for job_id in held:
                pipe.hmget(f"{self.prefix}job:{job_id}", ["status", "worker"])
            if all(status != "started" or worker not in worker_ids for status, worker in pipe.execute()):
                self.report.requeue_after_kill.append(now - killed_at)
                self.unrequeued.remove(entry)

    def refresh_pending(self) -> None:
        """Drop finished ids from ``pending``; note recovery times. Tolerates Redis being down."""
        try:
            ids = list(self.pending)
            finished: set[str] = set()
            for start in range(0, len(ids), 2000):
                chunk = ids[start:start + 2000]
                pipe = self.client.pipeline(transaction=False)
                for job_id in chunk:
                    pipe.hget(f"{self.prefix}job:{job_id}", "status")
                finished.update(j for j, s in zip(chunk, pipe.execute()) if s in DONE)
        except redis.ConnectionError:
            return
        now = time.monotonic()
        if finished and self.redis_back_at is not None:
            self.report.recover_after_redis.append(now - self.redis_back_at)
            self.redis_back_at = None
        self.pending -= finished
        try:
            self.note_requeues(now)
        except redis.ConnectionError:
            pass
        for entry in list(self.watch):
            killed_at, held, _ = entry
            if not (held & self.pending):
                self.report.recover_after_kill.append(now - killed_at)
                self.watch.remove(entry)

    def finish_report(self) -> None:
        report = self.report
        report.lost = len(self.pending)
        statuses: dict[str, int] = {}
        runs = {k: int(v) for k, v in self.client.hgetall(self.runs_key).items()}
        ids = [key.split("job:", 1)[1] for key in self.client.scan_iter(match=f"{self.prefix}job:*", count=2000)]
        pipe = self.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hget(f"{self.prefix}job:{job_id}", "status")
        for job_id, status in zip(ids, pipe.execute()):
            if status != "success":
                statuses[status or "none"] = statuses.get(status or "none", 0) + 1
            elif runs.get(job_id, 0) == 0:
                report.unrecorded += 1
        report.not_success = statuses
        report.run_twice = sum(1 for count in runs.values() if count > 1)
        report.max_runs = max(runs.values(), default=0)
        if len(ids) != report.jobs:
            report.not_success["missing record"] = report.jobs - len(ids)
        for _killed_at, held, _ in self.watch:  # kills whose jobs never all finished
            report.lost = max(report.lost, len(held & self.pending))


def run_chaos(options: ChaosOptions | None = None, **kwargs: Any) -> ChaosReport:
    """Run the chaos scenario (``ChaosOptions`` fields as keyword arguments) and return its report."""
    return _Chaos(options or ChaosOptions(**kwargs)).run()
