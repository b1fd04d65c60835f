"""The CI-size chaos run (see tests/chaos): no job lost while workers are killed and Redis restarts.

Counts only, no timing assertions: a few hundred jobs, at least two SIGKILLs,
one SIGTERM and one Redis restart; every job must end ``success``.
"""
from __future__ import annotations

from tests.chaos import run_chaos
from tests.redis_server import require_redis_server


def test_chaos_ci_size_run_loses_nothing():
    require_redis_server()
    lines: list[str] = []
    report = run_chaos(jobs=300, workers=3, greenlets=10, job_sleep=0.05, kill_every=1.0, min_kills=2,
                       sigterms=1, redis_restarts=1, lost_after=3.0, timeout=240, seed=9, log=lines.append)
    summary = "\n".join(lines + report.lines())
    assert report.kills >= 2, summary
    assert report.sigterms == 1 and report.redis_restarts == 1, summary
    assert report.lost == 0, summary
    assert report.not_success == {}, summary
    assert report.unrecorded == 0, summary
    assert report.worker_crashes == 0, summary
    assert report.ok, summary
