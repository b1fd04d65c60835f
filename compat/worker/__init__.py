"""``mrqc.worker``: the import paths of ``celery.worker`` that task modules and tests use.

mrqc's worker is ``mrqcore.worker.Worker`` (``mrqc worker -A proj``); this
package only holds what Celery code imports from ``celery.worker``:

* ``mrqc.worker.state``: ``successful_requests`` and friends, answered from
  the store (see that module);
* ``mrqc.worker.control``: the ``control_command``/``inspect_command``
  decorators (accepted; custom commands are not served by mrqc's workers).
"""
from __future__ import annotations

from . import control, state

__all__ = ["state", "control"]
