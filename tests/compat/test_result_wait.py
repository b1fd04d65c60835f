"""``AsyncResult.get()`` waits with mrqcore's ``Job.wait``: a small success arrives in the done notification."""
from __future__ import annotations

import threading
import time
from typing import Any

from mrqcore.execution import RunningJob, perform
from mrqc import AsyncResult
from tests.compat.test_finish_fields import WORKER, CountingRuntime
from tests.conftest import wait_for


class AppWithRuntime:
    """The test app, publishing and reading through another runtime object (a counting wrapper)."""

    def __init__(self, app: Any, runtime: Any) -> None:
        self._app = app
        self.runtime = runtime

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def test_get_takes_a_small_success_from_the_done_notification(app: Any) -> None:
    from tests.compat.proj_tasks import add
    sent = add.delay(2, 3)
    counting = CountingRuntime(app.runtime)
    waiting = AsyncResult(sent.id, app=AppWithRuntime(app, counting))
    got: dict[str, Any] = {}
    # interval=30: no periodic re-read can happen during the test; only the notification wakes it
    waiter = threading.Thread(target=lambda: got.update(value=waiting.get(timeout=60, interval=30)))
    waiter.start()
    # read 1: the parent lookup (follow_parents); read 2: Job.wait's first read, made once subscribed
    wait_for(lambda: counting.store.gets >= 2, timeout=20, message="get() subscribed and read the record")
    [(job_id, record)] = app.runtime.store.dequeue(WORKER, [sent.queue], 1, time.time())
    app.runtime.store.finish(WORKER, [perform(RunningJob(job_id, record, app.runtime, None))])
    waiter.join(30)
    assert got == {"value": 5}
    assert counting.store.gets == 2  # the result came with the notification: the record was not read again
