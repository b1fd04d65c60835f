"""RQ job functions of the benchmark (RQ needs only importable functions)."""
from __future__ import annotations

import time

from benchmarks.settings import IO_SLEEP


def noop(x: int) -> int:
    return x


def io(x: int) -> int:
    time.sleep(IO_SLEEP)
    return x
