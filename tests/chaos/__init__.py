"""The counted chaos run: jobs through real workers that are killed, stopped and cut off from Redis.

``python -m tests.chaos --jobs 10000 --workers 3`` starts its own redis-server
(append-only file on, ``appendfsync always``: every write is on disk before
Redis answers) on a free loopback port in a temporary folder, queues N jobs
whose task counts each of its runs (``HINCRBY`` per job id), runs ``mrqc
worker`` processes, and meanwhile:

* SIGKILLs a random worker every ``--kill-every`` seconds and starts a new one
  (at least ``--min-kills`` times: kills also come at fixed fractions of
  progress, so a fast run still gets them);
* SIGTERMs one worker once (its jobs end ``interrupt`` and are requeued);
* restarts Redis once, mid-run.

It prints jobs, kills, SIGTERMs, Redis restarts, lost (jobs that never reached
a final status: must be 0), failed, run-twice, the time to recover, and the
total time; the exit code is 1 if a job was lost or did not succeed.
See ``tests/chaos/run.py`` and docs/reliability.md.
"""
from .run import ChaosOptions, ChaosReport, run_chaos

__all__ = ["ChaosOptions", "ChaosReport", "run_chaos"]
