"""Dramatiq 2 with its Redis broker: 2 processes x 8 threads (its default), and under
``dramatiq-gevent`` 2 processes x 100 greenlets.

``dramatiq-gevent`` is the console script Dramatiq itself ships (there is no separate PyPI package);
it monkey-patches with gevent and treats ``--threads`` as greenlets. Dramatiq has no bulk enqueue:
the closest documented route is ``group(messages).run()``, which enqueues the messages one by one.
"""
from __future__ import annotations

from typing import Any, Sequence

from benchmarks.peers.base import Peer, WorkerConfig, console_script, python
from benchmarks.settings import KEY_PREFIX


class DramatiqPeer(Peer):
    system = "dramatiq"
    distribution = "dramatiq"
    single_api = "noop.send(x)"
    bulk_api = "group(noop.message(x) for x in xs).run() (no bulk API: one enqueue per message)"

    def __init__(self) -> None:
        from benchmarks.peers import dramatiq_app

        self.app = dramatiq_app

    def configs(self) -> list[WorkerConfig]:
        return [
            WorkerConfig("threads-2x8", "dramatiq -p 2 -t 8", 16, {"gevent": False, "p": 2, "t": 8}),
            WorkerConfig("gevent-2x100", "dramatiq-gevent -p 2 -t 100", 200, {"gevent": True, "p": 2, "t": 100}),
        ]

    def enqueue(self, x: int):
        return self.app.noop.send(x)

    def enqueue_bulk(self, xs: Sequence[int]) -> list:
        import dramatiq

        messages = [self.app.noop.message(x) for x in xs]
        dramatiq.group(messages).run()
        return messages

    def enqueue_io(self, count: int) -> list:
        import dramatiq

        messages = [self.app.io.message(x) for x in range(count)]
        dramatiq.group(messages).run()
        return messages

    def done(self, handles: Sequence) -> list[bool]:
        backend = self.app.backend
        pipe = self.redis().pipeline(transaction=False)
        for message in handles:
            pipe.exists(backend.build_message_key(message))
        return [bool(n) for n in pipe.execute()]

    def wait(self, handle, timeout: float) -> Any:
        return handle.get_result(backend=self.app.backend, block=True, timeout=int(timeout * 1000))

    def result(self, handle) -> Any:
        return handle.get_result(backend=self.app.backend)

    def worker_argv(self, config: WorkerConfig, burst: bool) -> list[str]:
        opts = config.options
        head = [console_script("dramatiq-gevent")] if opts["gevent"] else [python(), "-m", "dramatiq"]
        return [*head, "benchmarks.peers.dramatiq_app", "-p", str(opts["p"]), "-t", str(opts["t"]),
                "-Q", self.queue]

    def key_patterns(self) -> list[str]:
        return [f"{KEY_PREFIX}dramatiq*"]
