"""Helpers for task code: ``ratelimit`` (shared rate limits) and ``metric`` (the metrics hook).

    from mrqcore.helpers import metric, ratelimit

    if ratelimit("api.example.com", 10, per=1) == 0:   # 10 calls per second, all workers
        retry_current_job(delay=1)
    metric("crawl.pages", 1, site="example.com")       # goes to the ``metric_hook`` setting

Both work outside a worker too (they use the current runtime).
"""
from __future__ import annotations

import logging
from typing import Any

from .runtime import Runtime, get_runtime

logger = logging.getLogger("mrqc.helpers")


def ratelimit(key: str, limit: int, per: float = 1, redis: Any = None) -> int:
    """Count one action on ``key``; return how many actions (this one included) the window allows.

    Up to ``limit`` actions are allowed per window of ``per`` seconds. The first
    call of a window returns ``limit``, the ``limit``-th returns 1, every later
    call in the same window returns 0: go ahead when the answer is non-zero.
    Algorithm: a fixed window (``floor(server_time / per)``) counted atomically by
    the store (``store.ratelimit``; on Redis one Lua script, ``lua/ratelimit.lua``),
    so it holds across processes and machines and uses the server's clock; the
    counter expires with its window. A
    fixed window can let up to ``2 * limit`` actions through across a window
    boundary; it never lets more than ``limit`` through inside one window.
    Calls that get 0 still count (they do not reset anything).

    ``redis`` is a redis-py client (``decode_responses=True``) to count on instead
    of the runtime's store (keys still get the runtime's ``redis_prefix``). The
    Redis key is ``{prefix}ratelimit:{key}:{window}``.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"ratelimit key must be a non-empty str, got {key!r}")
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"ratelimit limit must be an int >= 0, got {limit!r}")
    if isinstance(per, bool) or not isinstance(per, (int, float)) or per <= 0:
        raise ValueError(f"ratelimit per must be a number of seconds > 0, got {per!r}")
    runtime = get_runtime()
    store = runtime.store
    if redis is not None:
        from .store.redis import RedisJobStore
        store = RedisJobStore(redis, runtime.config.redis_prefix)
    return store.ratelimit(key, limit, float(per))


def metric(name: str, incr: int = 1, **kwargs: Any) -> None:
    """Send a metric to the ``metric_hook`` setting: ``hook(name, incr, **kwargs)``; no hook, no-op.

    The worker itself reports ``queue_jobs`` / ``queue_raw_jobs`` (jobs queued),
    ``jobs.dequeued`` (with ``queue=``) and ``jobs.status.<status>`` (each
    recorded end: success, failed, retry...). See docs/ratelimit-and-metrics.md
    for statsd/Graphite and Prometheus hooks. An exception in the hook rises
    to the caller.
    """
    get_runtime().metric(name, incr, **kwargs)


def safe_metric(runtime: Runtime, name: str, incr: int = 1, **kwargs: Any) -> None:
    """``runtime.metric`` for mrqc's own call sites: a broken hook is logged, never fatal."""
    try:
        runtime.metric(name, incr, **kwargs)
    except Exception:  # the hook is user code; metrics must not stop the worker
        logger.exception("metric_hook failed on %r", name)


__all__ = ["ratelimit", "metric", "safe_metric"]
