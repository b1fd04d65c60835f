"""Huey 3 with RedisHuey: one consumer with 100 greenlets, or with 8 threads, each with and
without result notification (``notify_result``; without it a blocking ``get`` polls with backoff).

The greenlet consumer is started through ``huey_gevent_consumer``, which applies gevent's
monkey-patch first, as Huey's documentation asks (``huey_consumer`` itself does not patch).
Huey has no bulk enqueue API: ``task.map(xs)`` enqueues one task at a time, so the bulk row is n/a.
"""
from __future__ import annotations

from typing import Any, Sequence

from benchmarks.peers.base import Peer, WorkerConfig, console_script, python
from benchmarks.peers.huey_app import NAME, NOTIFY_ENV, huey, io, noop


class HueyPeer(Peer):
    system = "huey"
    distribution = "huey"
    single_api = "noop(x)"
    bulk_api = None

    def configs(self) -> list[WorkerConfig]:
        configs = []
        for notify in (True, False):
            suffix = "" if notify else "-poll"
            note = "notify_result=True" if notify else "notify_result=False (result get polls)"
            configs.append(WorkerConfig(f"greenlet-100{suffix}", f"huey_consumer -k greenlet -w 100, {note}",
                                        100, {"k": "greenlet", "w": 100, "notify": notify}))
            configs.append(WorkerConfig(f"thread-8{suffix}", f"huey_consumer -k thread -w 8, {note}",
                                        8, {"k": "thread", "w": 8, "notify": notify}))
        return configs

    def use_config(self, config: WorkerConfig) -> None:
        huey.storage.notify_result = config.options["notify"]

    def enqueue(self, x: int):
        return noop(x)

    def enqueue_io(self, count: int) -> list:
        return [io(x) for x in range(count)]

    def done(self, handles: Sequence) -> list[bool]:
        pipe = self.redis().pipeline(transaction=False)
        for result in handles:
            pipe.hexists(huey.storage.result_key, result.id)
        return [bool(n) for n in pipe.execute()]

    def wait(self, handle, timeout: float) -> Any:
        return handle.get(blocking=True, timeout=timeout)

    def result(self, handle) -> Any:
        return handle.get(preserve=True)

    def worker_argv(self, config: WorkerConfig, burst: bool) -> list[str]:
        if config.options["k"] == "greenlet":
            # huey_consumer does not monkey-patch; Huey's docs say to patch in a launcher script.
            head = [python(), "-m", "benchmarks.peers.huey_gevent_consumer"]
        else:
            head = [console_script("huey_consumer")]
        # -q: WARNING-level logging (by default Huey logs two INFO lines per task), as for the others.
        return [*head, "benchmarks.peers.huey_app.huey", "-k", config.options["k"],
                "-w", str(config.options["w"]), "-q"]

    def worker_env(self, config: WorkerConfig) -> dict[str, str]:
        return {NOTIFY_ENV: "1" if config.options["notify"] else "0"}

    def key_patterns(self) -> list[str]:
        return [f"huey.*.{NAME}", f"huey.notify.{NAME}.*"]
