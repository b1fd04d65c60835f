"""``queue_requests``: jobs differing in task, queue, id, delay and extra, queued in one store call."""
from __future__ import annotations

import pytest

from mrqcore.exceptions import SerializationError
from mrqcore.job import Job, JobRequest, queue_requests


def test_each_request_is_queued_as_queue_job_would(runtime):
    ids = queue_requests([JobRequest("tests.tasks.basic.Add", {"a": 1, "b": 2}, "q1", "req-1"),
                          JobRequest("tests.tasks.basic.Add", {"a": 3, "b": 4}, "q2", extra={"k": "v"}),
                          JobRequest("tests.tasks.basic.Add", {"a": 0, "b": 0}, "q1", "req-3", delay=3600)],
                         runtime=runtime)
    assert ids[0] == "req-1" and ids[2] == "req-3" and len(set(ids)) == 3
    first, second, later = (Job(i, runtime).fetch() for i in ids)
    assert (first.queue, first.params, first.status) == ("q1", {"a": 1, "b": 2}, "queued")
    assert second.queue == "q2" and second.data["meta"] == {"k": "v"}
    assert runtime.store.queue_size("q1") == 1  # the delayed one waits in the scheduled set


def test_a_live_id_is_not_queued_twice_and_bad_params_write_nothing(runtime):
    queue_requests([JobRequest("tests.tasks.basic.Add", {"a": 1, "b": 1}, "q", "same")], runtime=runtime)
    queue_requests([JobRequest("tests.tasks.basic.Add", {"a": 9, "b": 9}, "q", "same")], runtime=runtime)
    assert Job("same", runtime).fetch().params == {"a": 1, "b": 1}
    with pytest.raises(SerializationError):
        queue_requests([JobRequest("tests.tasks.basic.Add", {"a": 1}, "q", "ok-one"),
                        JobRequest("tests.tasks.basic.Add", {"x": object()}, "q", "bad-one")], runtime=runtime)
    assert not Job("ok-one", runtime).exists
