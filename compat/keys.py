"""Redis keys the Celery layer adds (all under the runtime's ``redis_prefix``).

mrqcore's own keys are listed in ``mrqcore.keys``; these are the compat layer's:

| key | type | holds |
|---|---|---|
| ``{p}celery:chord:{group_id}`` | hash | header index -> result JSON of each finished chord header task |
| ``{p}celery:group:{group_id}`` | string | JSON list of the task ids of a group (``GroupResult.restore``) |
| ``{p}celery:control`` | pubsub channel | ``terminate <task id>`` messages (``revoke(terminate=True)``) |

Parked jobs (chain steps and chord bodies waiting for their parents) are
ordinary job records in mrqcore's ``{p}scheduled`` zset with a score of
``PARKED`` (never due): the promoter never moves them; ``release.lua`` does.
"""
from __future__ import annotations

#: zset score of a parked job (year ~318,000: never due)
PARKED = 1e13
#: scores at or above this are parked jobs
PARKED_MIN = 1e12


def chord(prefix: str, group_id: str) -> str:
    return f"{prefix}celery:chord:{group_id}"


def group(prefix: str, group_id: str) -> str:
    return f"{prefix}celery:group:{group_id}"


def control_channel(prefix: str) -> str:
    return f"{prefix}celery:control"
