"""``mrqc worker --processes N``: run N worker processes and keep them running.

The supervisor starts each child as ``mrqc worker ... --processes 0`` with the
same arguments, forwards SIGINT and SIGTERM to all of them, and restarts a
child that exits (unless the supervisor is stopping). A child that stopped
itself cleanly (``--max-jobs``, ``--max-time``, ``--max-memory``) is replaced by
a fresh one, like Celery's ``--max-tasks-per-child``. In ``--burst`` mode a
child that exits 0 has drained the queues and is not replaced; the supervisor
exits once all have.
"""
from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from typing import Sequence

logger = logging.getLogger("mrqc.supervisor")


class Supervisor:
    """Keeps ``count`` copies of ``command`` alive."""

    def __init__(self, command: Sequence[str], count: int, restart_delay: float = 1.0,
                 replace_clean_exits: bool = True) -> None:
        self.command = list(command)
        self.count = count
        self.restart_delay = restart_delay
        self.replace_clean_exits = replace_clean_exits
        self.children: list[subprocess.Popen] = []
        self.stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._forward)
        signal.signal(signal.SIGTERM, self._forward)
        self.children = [self._spawn() for _ in range(self.count)]
        exit_code = 0
        while self.children:
            for child in list(self.children):
                code = child.poll()
                if code is None:
                    continue
                self.children.remove(child)
                if code != 0:
                    exit_code = code
                if self.stopping or (code == 0 and not self.replace_clean_exits):
                    continue
                if code != 0:
                    logger.warning("worker process %d exited with %d; restarting", child.pid, code)
                    time.sleep(self.restart_delay)
                self.children.append(self._spawn())
            time.sleep(0.1)
        return 0 if self.stopping else exit_code

    def _spawn(self) -> subprocess.Popen:
        child = subprocess.Popen(self.command)
        logger.info("started worker process %d", child.pid)
        return child

    def _forward(self, signum: int, frame: object) -> None:
        self.stopping = True
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signum)


def child_command(argv: Sequence[str]) -> list[str]:
    """The command line for one child: ours, with ``--processes 0``."""
    args = list(argv)
    out: list[str] = []
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "--processes":
            skip = True
            continue
        if arg.startswith("--processes="):
            continue
        out.append(arg)
    return [sys.executable, "-m", "mrqcore.cli", *out, "--processes", "0"]
