"""Names the Celery layer keeps in the store (all relative to the runtime's ``redis_prefix``).

mrqcore's own keys are listed in ``mrqcore.keys``; these are the compat layer's,
passed to ``JobStore`` workflow methods, which put them under the prefix
(on Redis the key is the prefix followed by the name):

| name | store method | holds |
|---|---|---|
| ``celery:chord:{group_id}`` | ``barrier_add`` | header index -> result JSON of each finished chord header task |
| ``celery:group:{group_id}`` | ``set_value`` | JSON list of the task ids of a group (``GroupResult.restore``) |

Parked jobs (chain steps and chord bodies waiting for their parents) are
mrqcore *held* jobs: queued with ``due = HOLD_DUE`` (never due), released by
``JobStore.release_held`` or ended by ``JobStore.fail_held``.
"""
from __future__ import annotations


def chord(group_id: str) -> str:
    """The barrier name of a chord's header results."""
    return f"celery:chord:{group_id}"


def group(group_id: str) -> str:
    """The value name of a saved GroupResult."""
    return f"celery:group:{group_id}"
