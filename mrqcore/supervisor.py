"""``mrqc worker --processes N``: run N worker processes and keep them running.

The supervisor loads everything once (config, app, task modules), then forks
each worker process from itself, so children start in milliseconds and share
the loaded code copy-on-write (like gunicorn's preload). It forwards SIGINT and
SIGTERM to every child, and replaces a child that exits, unless it is
stopping. A child that stopped itself cleanly (``--max-jobs``, ``--max-time``,
``--max-memory``) is replaced by a fresh one, like Celery's
``--max-tasks-per-child``. In ``--burst`` mode a child that exits 0 has drained
the queues and is not replaced; the supervisor exits once all have.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback
from typing import Callable

logger = logging.getLogger("mrqc.supervisor")


class Supervisor:
    """Keeps ``count`` forked children, each running ``target()`` (its return value is the exit code)."""

    def __init__(self, target: Callable[[], int], count: int, restart_delay: float = 1.0,
                 replace_clean_exits: bool = True) -> None:
        self.target = target
        self.count = count
        self.restart_delay = restart_delay
        self.replace_clean_exits = replace_clean_exits
        self.children: set[int] = set()
        self.stopping = False
        #: pid -> start time, and the delay before the next restart after a crash
        self._started: dict[int, float] = {}
        self._delay = restart_delay

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._forward)
        signal.signal(signal.SIGTERM, self._forward)
        signal.signal(signal.SIGQUIT, self._forward)  # Celery's cold shutdown (shutdown_signals 'celery')
        for _ in range(self.count):
            self._spawn()
        exit_code = 0
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
                continue
            if pid not in self.children:
                continue
            self.children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                exit_code = code
            if self.stopping or (code == 0 and not self.replace_clean_exits):
                continue
            if code != 0:
                # A child that crashes soon after starting will likely crash again: back off
                # (doubling, up to a minute) instead of restarting in a tight loop.
                lived = time.monotonic() - self._started.pop(pid, 0.0)
                if lived > 60:
                    self._delay = self.restart_delay
                delay, self._delay = self._delay, min(self._delay * 2, 60.0)
                logger.warning("worker process %d exited with %d after %.0fs; restarting in %.0fs",
                               pid, code, lived, delay)
                time.sleep(delay)
            self._started.pop(pid, None)
            self._spawn()
        return 0 if self.stopping else exit_code

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the child: run the worker, never return into the supervisor's loop
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGQUIT, signal.SIG_DFL)
            code = 1
            try:
                code = int(self.target() or 0)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children.add(pid)
        self._started[pid] = time.monotonic()
        logger.info("started worker process %d", pid)

    def _forward(self, signum: int, frame: object) -> None:
        self.stopping = True
        for pid in list(self.children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
