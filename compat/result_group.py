"""``ResultSet`` and ``GroupResult``: many results waited on together.

``GroupResult.save()`` stores the member ids under ``{p}celery:group:{id}``
(kept for ``result_ttl``), so ``GroupResult.restore(id)`` works from any
process, as with Celery's result backends.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterator

from mrqcore import serialization

from . import _state, keys
from .exceptions import TimeoutError
from .result import AsyncResult, EagerResult, _check_not_in_task

if TYPE_CHECKING:
    from .app import Celery


class ResultSet:
    """A list of results waited on together."""

    #: set on ``app.GroupResult`` (a subclass bound to an app)
    _default_app: "Celery | None" = None

    def __init__(self, results: list[Any], app: "Celery | None" = None, **kwargs: Any) -> None:
        self.results = list(results)
        self.app = app or self._default_app or _state.get_current_app()

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.results)

    def __getitem__(self, index: int) -> Any:
        return self.results[index]

    def add(self, result: Any) -> None:
        if result not in self.results:
            self.results.append(result)

    def ready(self) -> bool:
        return all(r.ready() for r in self.results)

    def successful(self) -> bool:
        return all(r.successful() for r in self.results)

    def failed(self) -> bool:
        return any(r.failed() for r in self.results)

    def waiting(self) -> bool:
        return not self.ready()

    def maybe_throw(self, propagate: bool = True, callback: Any = None) -> None:
        for result in self.results:
            result.maybe_throw(propagate=propagate)

    def completed_count(self) -> int:
        return sum(1 for r in self.results if r.successful())

    def revoke(self, connection: Any = None, terminate: bool = False, signal: Any = None, **kwargs: Any) -> None:
        for result in self.results:
            result.revoke(terminate=terminate, signal=signal)

    def forget(self) -> None:
        for result in self.results:
            result.forget()

    def get(self, timeout: float | None = None, propagate: bool = True, interval: float = 0.5,
            callback: Any = None, no_ack: bool = True, on_message: Any = None,
            disable_sync_subtasks: bool = True, on_interval: Any = None) -> list[Any]:
        return self.join(timeout=timeout, propagate=propagate, interval=interval, callback=callback,
                         disable_sync_subtasks=disable_sync_subtasks, on_interval=on_interval)

    def join(self, timeout: float | None = None, propagate: bool = True, interval: float = 0.5,
             callback: Any = None, no_ack: bool = True, on_message: Any = None, on_interval: Any = None,
             disable_sync_subtasks: bool = True, **kwargs: Any) -> list[Any]:
        """Results in order; ``timeout`` is for the whole set, as in Celery."""
        if disable_sync_subtasks:
            _check_not_in_task()
        deadline = None if timeout is None else time.monotonic() + timeout
        values = []
        for result in self.results:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if remaining is not None and remaining <= 0 and not result.ready():
                raise TimeoutError("join operation timed out")
            value = result.get(timeout=remaining, propagate=propagate, interval=interval,
                               disable_sync_subtasks=False)
            if callback is not None:
                callback(result.id, value)
            else:
                values.append(value)
        return values

    join_native = join

    @property
    def supports_native_join(self) -> bool:
        return True


class GroupResult(ResultSet):
    """The result of a group (``id`` is the group id); ``save``/``restore`` keep its members in Redis."""

    def __init__(self, id: str | None = None, results: list[Any] | None = None,  # noqa: A002
                 parent: Any = None, app: "Celery | None" = None, **kwargs: Any) -> None:
        super().__init__(results or [], app=app)
        self.id = id
        self.parent = parent

    def __repr__(self) -> str:
        return f"<GroupResult: {self.id} [{', '.join(r.id for r in self.results)}]>"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, GroupResult):
            return other.id == self.id and other.results == self.results
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def children(self) -> list[Any]:
        return self.results

    def save(self, backend: Any = None) -> "GroupResult":
        from .eager import eager_store
        if any(isinstance(r, EagerResult) for r in self.results) and eager_store(self.app) is None:
            return self  # eager results that are not stored: nothing to restore them from
        runtime = self.app.runtime
        ttl = int(runtime.config.result_ttl) or None
        runtime.store.set_value(keys.group(self.id), serialization.dumps([r.id for r in self.results]).decode(),
                                ttl)
        return self

    def delete(self, backend: Any = None) -> None:
        runtime = self.app.runtime
        runtime.store.delete_value(keys.group(self.id))

    @classmethod
    def restore(cls, id: str, backend: Any = None, app: "Celery | None" = None) -> "GroupResult | None":  # noqa: A002
        app = app or cls._default_app or _state.get_current_app()
        runtime = app.runtime
        raw = runtime.store.get_value(keys.group(id))
        if raw is None:
            return None
        return cls(id, [AsyncResult(i, app=app) for i in serialization.loads(raw)], app=app)

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.id, None), [r.as_tuple() for r in self.results]


def result_from_tuple(r: Any, app: "Celery | None" = None) -> Any:
    (id_, parent), nodes = r
    if nodes is not None:
        return GroupResult(id_, [result_from_tuple(n, app) for n in nodes], app=app)
    return AsyncResult(id_, app=app, parent=result_from_tuple(parent, app) if parent else None)
