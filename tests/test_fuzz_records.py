"""Fuzz tests (hypothesis, bounded) over what a worker reads from Redis: record fields and raw items.

* record fields: any bytes in any field of a queued record (another program's
  write, or corruption) make that job end with a status and a readable record,
  written by the store's normal finish; the dequeue, the decoding and the write
  never raise;
* raw queue items: any text pushed to a raw queue becomes exactly one job, made
  by the queue's job factory, or a failed job naming the factory's error.
"""
from __future__ import annotations

import time
import uuid

import redis as redis_lib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrqcore.execution import RunningJob, perform
from mrqcore.job import FINAL_STATUSES, Job
from mrqcore.raw import RawFeeder, queue_raw_jobs

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FIELDS = ("path", "params", "queue", "retry_count", "datequeued", "traceback_history", "meta", "progress")
#: plausible values and garbage: valid JSON, bytes that are not UTF-8, empty, huge numbers
FIELD_VALUE = st.one_of(st.binary(max_size=40), st.just(b'{"a": 1, "b": 2}'), st.just(b"\xff\xfe"),
                        st.just(b""), st.just(b"1e999"), st.just(b"tests.tasks.basic.Add"))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(FIELDS), FIELD_VALUE, max_size=len(FIELDS)))
def test_any_record_bytes_end_that_job_with_a_status(runtime, redis_url, fields):
    client = redis_lib.Redis.from_url(redis_url)
    job_id = f"fuzz-{uuid.uuid4().hex[:8]}"
    prefix = runtime.config.redis_prefix
    record = {b"status": b"queued", b"queue": b"fuzzq", b"path": b"tests.tasks.basic.Add"}
    record.update({name.encode(): value for name, value in fields.items()})
    client.hset(f"{prefix}job:{job_id}".encode(), mapping=record)
    client.rpush(f"{prefix}q:fuzzq", job_id)
    try:
        jobs = runtime.store.dequeue("fuzz-worker", ["fuzzq"], 10, time.time())
        assert [j for j, _ in jobs] == [job_id]
        fin = perform(RunningJob(job_id, jobs[0][1], runtime, None))
        runtime.store.finish("fuzz-worker", [fin])
        job = Job(job_id, runtime).fetch(("status", "exceptiontype"))
        assert job.status in FINAL_STATUSES or job.status == "retry"
        if job.status == "failed":
            assert job.exceptiontype  # says why
    finally:
        client.delete(f"{prefix}job:{job_id}", f"{prefix}joblog:{job_id}", f"{prefix}q:fuzzq")
        client.close()


@FUZZ
@given(items=st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30),
                      min_size=1, max_size=5, unique=True))
def test_any_raw_item_becomes_one_job(config_values, redis_url, items):
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime
    values = dict(config_values, redis_prefix=f"{config_values['redis_prefix']}{uuid.uuid4().hex[:6]}:",
                  raw_queues={"fz_raw": {"job_factory": "tests.tasks.depth_a.item_to_job", "retry_queue": "fz"}})
    runtime = Runtime(Config(values))
    try:
        queue_raw_jobs("fz_raw", items, runtime=runtime)
        feeder = RawFeeder(runtime, "fuzz-raw-worker")
        made = feeder.fetch(["fz_raw"], 100, time.time())
        assert sorted(record["raw_param"] for _, record in made) == sorted(items)
        assert runtime.store.raw_size("fz_raw", "list") == 0
    finally:
        runtime.store.clear()
        runtime.close()
