"""Issue 9 item 11: the embedded Redis folder and its files are private (0700 / 0600)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

from tests.conftest import ROOT


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MRQC_")}
    env["PYTHONPATH"] = ROOT
    return env


def _modes(folder):
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            found[os.path.relpath(name, folder)] = stat.S_IMODE(os.lstat(name).st_mode)
    return found


# The server's later writes (an AOF rewrite) happen in the server process, under the umask it
# started with: make it write, then look at every file.
_USE = """
import time
from mrqcore.embedded import embedded_socket, stop_embedded
from mrqcore.job import queue_job
from mrqcore.runtime import get_runtime
queue_job("tests.tasks.basic.Add", {"a": 1, "b": 2})
r = get_runtime().store.client
r.bgrewriteaof()
deadline = time.time() + 30
while r.info("persistence")["aof_rewrite_in_progress"] or r.info("persistence")["aof_rewrite_scheduled"]:
    assert time.time() < deadline
    time.sleep(0.05)
r.bgsave()
while r.info("persistence")["rdb_bgsave_in_progress"]:
    assert time.time() < deadline
    time.sleep(0.05)
stop_embedded(".mrqc")
"""


def _use_embedded(cwd):
    done = subprocess.run([sys.executable, "-c", _USE], env=_env(), cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_new_embedded_folder_and_files_are_private(tmp_path):
    old_umask = os.umask(0o022)  # the usual umask, which made them 0755/0644 before
    try:
        _use_embedded(tmp_path)
    finally:
        os.umask(old_umask)
    modes = _modes(tmp_path / ".mrqc")
    assert modes["."] == 0o700
    assert any(name.startswith("appendonly") for name in modes), modes
    assert any(name.endswith("redis.db") for name in modes), modes  # the RDB snapshot
    exposed = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert not exposed, exposed


def test_folder_from_an_older_version_is_made_private(tmp_path):
    folder = tmp_path / ".mrqc"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    old_file = folder / "appendonly.aof"
    old_file.write_text("")  # an empty AOF: Redis loads it as an empty data set
    os.chmod(old_file, 0o644)
    _use_embedded(tmp_path)
    modes = _modes(folder)
    assert modes["."] == 0o700
    exposed = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert not exposed, exposed
