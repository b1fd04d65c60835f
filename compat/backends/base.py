"""``mrqc.backends.base``: the result-backend classes of ``celery.backends.base``, over mrqc's job records.

``Backend`` implements Celery's backend methods that projects and tests call
on ``app.backend`` / ``task.backend``:

==============================  ============================================
``get_task_meta(id)``           ``{"task_id", "status", "result", "traceback", "children", ...}``
``get_state / get_result``      the state / the result (or exception)
``store_result(id, result,      write a state (and result) into the job's
state, traceback=None)``        record, as a worker would
``mark_as_done/failure/...``    ``store_result`` with that state
``forget(id)``                  delete the job's record
``ensure_chords_allowed()``     None: chords work on every mrqc store
``_cache``                      a dict (Celery's local result cache; unused)
==============================  ============================================
"""
from __future__ import annotations

from typing import Any

from .. import states

__all__ = ["Backend", "BaseBackend", "KeyValueStoreBackend", "BaseKeyValueStoreBackend", "DisabledBackend",
           "states"]


class Backend:
    """Celery's backend methods on an app's job records (``app.backend``)."""

    supports_native_join = True
    supports_autoexpire = True
    persistent = True

    def __init__(self, app: Any, url: str | None = None, **kwargs: Any) -> None:
        self.app = app
        self.url = url
        self._cache: dict[str, Any] = {}

    # --- reading ------------------------------------------------------------------

    def get_task_meta(self, task_id: str, cache: bool = True) -> dict[str, Any]:
        """What a Celery backend would hold for ``task_id``: a task whose result was ignored
        (``ignore_result``) reads as PENDING with no result, as nothing is stored in Celery."""
        res = self.app.AsyncResult(task_id)
        if (self.app.runtime.store.get(task_id, ["result_ignored"]) or {}).get("result_ignored"):
            return {"task_id": task_id, "status": states.PENDING, "result": None, "traceback": None,
                    "children": []}
        state = res.state
        result = res.result if state in states.READY_STATES or state not in states.ALL_STATES else res.info
        return {"task_id": task_id, "status": state, "result": result, "traceback": res.traceback,
                "children": getattr(res, "children", None) or [], "date_done": getattr(res, "date_done", None),
                "name": getattr(res, "name", None), "args": getattr(res, "args", None),
                "kwargs": getattr(res, "kwargs", None)}

    def get_state(self, task_id: str) -> str:
        return self.get_task_meta(task_id)["status"]

    get_status = get_state

    def get_result(self, task_id: str) -> Any:
        return self.get_task_meta(task_id)["result"]

    def get_traceback(self, task_id: str) -> Any:
        return self.get_task_meta(task_id)["traceback"]

    def wait_for(self, task_id: str, timeout: float | None = None, **kwargs: Any) -> Any:
        return self.app.AsyncResult(task_id).get(timeout=timeout, propagate=False)

    # --- writing ------------------------------------------------------------------

    def store_result(self, task_id: str, result: Any, state: str, traceback: Any = None, request: Any = None,
                     **kwargs: Any) -> Any:
        """Write ``state`` (and ``result``) into the job's record, as the worker writes a final state."""
        from ..result import store_state
        store_state(self.app, task_id, state, result, traceback)
        return result

    def mark_as_started(self, task_id: str, **meta: Any) -> Any:
        return self.store_result(task_id, meta, states.STARTED)

    def mark_as_done(self, task_id: str, result: Any, request: Any = None, **kwargs: Any) -> Any:
        return self.store_result(task_id, result, states.SUCCESS)

    def mark_as_failure(self, task_id: str, exc: BaseException, traceback: Any = None, request: Any = None,
                        **kwargs: Any) -> Any:
        return self.store_result(task_id, exc, states.FAILURE, traceback)

    def mark_as_revoked(self, task_id: str, reason: str = "", request: Any = None, **kwargs: Any) -> Any:
        self.app.AsyncResult(task_id).revoke()

    def forget(self, task_id: str) -> None:
        self._cache.pop(task_id, None)
        self.app.AsyncResult(task_id).forget()

    def ensure_chords_allowed(self) -> None:
        """Chords work on every mrqc store (nothing to refuse)."""

    def cleanup(self) -> None:
        """Expired records leave by their TTL in Redis."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.url or 'the app store'}>"


BaseBackend = Backend


class KeyValueStoreBackend(Backend):
    """A backend on a key-value store (mrqc's is Redis)."""


BaseKeyValueStoreBackend = KeyValueStoreBackend


class DisabledBackend(Backend):
    """Celery's backend for ``result_backend=None``; mrqc always keeps job records, so it reads them too."""
