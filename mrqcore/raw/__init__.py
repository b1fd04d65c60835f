"""Raw queues: very high volume queues that hold bare parameters, not job records.

A raw queue stores only a short string per item (an id, a URL...). No job record
exists until a worker takes the item and turns it into a job with the queue's
``job_factory``. The queue's type comes from its name's suffix, as in MRQ:

| suffix | class | type in the Redis store | served |
|---|---|---|---|
| ``_raw`` | ``RawListQueue`` | list | first in, first out |
| ``_set`` | ``RawSetQueue`` | set | any order; an item queued twice is held once |
| ``_sorted_set`` | ``RawSortedSetQueue`` | zset | lowest score first |
| ``_timed_set`` | ``RawTimedSetQueue`` | zset | items whose timestamp score has passed, oldest first |

``raw_queue_for(name)`` is the one place a name becomes a queue object; nothing
else looks at suffixes. Per-queue settings live in the ``raw_queues`` setting::

    RAW_QUEUES = {
        "crawl_raw": {
            "job_factory": "myapp.raw.url_to_job",   # or a callable: item -> {"path", "params", "queue"?}
            "retry_queue": "crawl",                  # queue the created jobs belong to (default: default_queue)
            "statuses_no_storage": ["success"],      # delete the record at once on these statuses
        },
        "refresh_timed_set": {"job_factory": ..., "pushback_seconds": 300},
    }

Never losing an item: a worker's pop (``lua/raw_pop.lua``) moves items into its
raw-inflight hash in the same atomic step; ``lua/raw_start.lua`` writes the job
record (status started, held by the worker) and deletes the raw-inflight entry in
one step. If the worker dies in between, ``requeue_lost_raw_items`` (run by every
worker as a service) gives the items of dead workers back to their queues. Once
the job exists, it is an ordinary started job: lost-job recovery covers it.
A timed set with ``pushback_seconds`` is MRQ's at-least-once mode: a pop only
pushes the item's timestamp forward by that many seconds; the item is removed when
its job succeeds, and otherwise comes back by itself.

Modules: ``mrqcore.raw.queues`` (the queue classes), ``mrqcore.raw.feeder`` (the
worker side and recovery). The worker uses them through ``mrqcore.queues.WorkerFeed``.
"""
from __future__ import annotations

from .feeder import RawFeeder, raw_recovery_service, requeue_lost_raw_items
from .queues import (RAW_QUEUE_SETTINGS, RawListQueue, RawQueue, RawQueueSettings, RawSetQueue,
                     RawSortedSetQueue, RawTimedSetQueue, is_raw_queue, queue_raw_jobs, raw_queue_for)

__all__ = ["queue_raw_jobs", "is_raw_queue", "raw_queue_for", "requeue_lost_raw_items",
           "RawQueue", "RawListQueue", "RawSetQueue", "RawSortedSetQueue", "RawTimedSetQueue",
           "RawQueueSettings", "RawFeeder", "raw_recovery_service", "RAW_QUEUE_SETTINGS"]
