"""Waiting for Redis when a worker starts (Celery's ``broker_connection_retry_on_startup``).

A worker started while Redis is down (a host booting, Redis restarting, a
container started before its database) waits for it, with one log line per
attempt, instead of exiting with a traceback. Settings:

| setting | default | meaning |
|---|---|---|
| ``redis_retry_on_startup`` | True | wait and retry; False: give up at the first failure |
| ``redis_startup_max_retries`` | 0 | give up after this many failed attempts (0: never) |

A wrong password is not retried: waiting cannot fix it.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Callable

from .urls import mask_url

if TYPE_CHECKING:
    from .runtime import Runtime

logger = logging.getLogger("mrqc.startup")

#: seconds between attempts: doubling from the first, capped
FIRST_DELAY, MAX_DELAY = 0.5, 5.0


def wait_for_store(runtime: "Runtime", retry: bool | None = None, max_retries: int | None = None,
                   sleep: Callable[[float], None] = time.sleep) -> bool:
    """Return True once ``runtime.store.ping()`` succeeds; False (logged) when giving up.

    ``retry`` and ``max_retries`` default to the ``redis_retry_on_startup`` and
    ``redis_startup_max_retries`` settings. Each failed attempt logs one
    warning naming the (password-masked) URL, the error and the next delay.
    Never raises for an unreachable Redis; errors other than Redis's propagate.
    """
    config = runtime.config
    retry = config.redis_retry_on_startup if retry is None else retry
    max_retries = config.redis_startup_max_retries if max_retries is None else max_retries
    url = mask_url(config.redis or "the embedded Redis")
    attempt, delay = 0, FIRST_DELAY
    while True:
        attempt += 1
        try:
            runtime.store.ping()
            if attempt > 1:
                logger.info("Redis at %s answers (attempt %d); starting", url, attempt)
            return True
        except Exception as exc:
            if not runtime.store.is_transient(exc):
                if isinstance(exc, runtime.store.backend_errors):  # bad credentials, a refused URL
                    logger.error("Redis at %s refused the credentials or the command (%s); not retrying", url, mask_url(str(exc)))
                    return False
                raise
            if not retry or (max_retries and attempt > max_retries):
                logger.error("Redis at %s is unreachable (%s); giving up after %d attempt(s)%s",
                             url, mask_url(str(exc)), attempt,
                             "" if retry else " (redis_retry_on_startup is off)")
                return False
            logger.warning("Redis at %s is unreachable (%s); retrying in %.1fs (attempt %d%s)",
                           url, mask_url(str(exc)), delay, attempt,
                           f" of {max_retries + 1}" if max_retries else "")
        sleep(delay)
        delay = min(delay * 2, MAX_DELAY)
