"""Worker subprocesses: start in their own process group, stop gracefully, kill what is left.

Every worker started here is recorded in the pid file named by ``$BENCH_PIDFILE`` (pid and kernel
start time), so that the orchestrator can kill any process group a crashed or timed-out runner left
behind without risking a recycled pid. Standard library only, except ``tree_rss`` (psutil).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

PIDFILE_ENV = "BENCH_PIDFILE"


class WorkerProcess:
    """One worker command (and the children it forks), with its output in a log file."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, log_path: Path) -> None:
        self.argv = argv
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None
        self.started_at = 0.0
        self._log_offset = 0

    def start(self) -> "WorkerProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self._log_offset = log.tell()
        log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
        log.flush()
        self.started_at = time.perf_counter()
        self.popen = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        record_pid(self.popen.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, "worker not started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_exit(self, timeout: float) -> bool:
        """True if the worker exited within ``timeout`` seconds."""
        assert self.popen is not None
        try:
            self.popen.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, sig: int = signal.SIGTERM, grace: float = 15.0) -> None:
        """Ask the whole process group to stop with ``sig``; SIGKILL it after ``grace`` seconds."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            _signal_group(self.popen.pid, sig)
            if not self.wait_exit(grace):
                _signal_group(self.popen.pid, signal.SIGKILL)
                self.wait_exit(10)
        # Children that outlived their parent (a forked work horse, a pool process) share its group.
        _signal_group(self.popen.pid, signal.SIGKILL)

    def tail(self, lines: int = 10) -> str:
        """The last lines this run of the worker wrote (the log file is shared by successive runs)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def __enter__(self) -> "WorkerProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def tree_rss(pid: int) -> int:
    """Resident set size in bytes of ``pid`` and all its descendants."""
    import psutil

    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def record_pid(pid: int) -> None:
    path = os.environ.get(PIDFILE_ENV)
    if not path:
        return
    start = _start_time(pid)
    with open(path, "a") as fh:
        fh.write(f"{pid} {start}\n")


def kill_recorded(pidfile: Path) -> list[int]:
    """SIGKILL every recorded process group still around.

    A group whose leader is the process we started, or whose leader has exited (orphaned children
    keep the group id), is killed; a pid now used by another process is left alone.
    """
    killed = []
    try:
        lines = pidfile.read_text().split("\n")
    except OSError:
        return killed
    for line in lines:
        parts = line.split()
        if len(parts) != 2:
            continue
        pid, start = int(parts[0]), parts[1]
        if _start_time(pid) in (start, "") and _group_alive(pid) and _signal_group(pid, signal.SIGKILL):
            killed.append(pid)
    return killed


def _group_alive(pgid: int) -> bool:
    """True if a process other than a zombie is in process group ``pgid``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return True
    return False


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False if the group no longer exists."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot, or "" if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may contain spaces; fields after it are split from its closing ')'.
    return stat.rsplit(")", 1)[1].split()[19]
