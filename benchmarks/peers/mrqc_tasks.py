"""mrqc tasks of the benchmark, imported by the worker from their dotted paths."""
from __future__ import annotations

from typing import Any

import gevent

from benchmarks.settings import IO_SLEEP
from mrqcore.task import Task


class Noop(Task):
    def run(self, params: dict[str, Any]) -> Any:
        return params["x"]


class Io(Task):
    def run(self, params: dict[str, Any]) -> Any:
        gevent.sleep(IO_SLEEP)
        return params["x"]


def raw_job_factory(raw: Any) -> dict[str, Any]:
    """Turns one raw-queue item (an int, as text or int) into a no-op job."""
    return {"path": "benchmarks.peers.mrqc_tasks.Noop", "params": {"x": int(raw)}}
