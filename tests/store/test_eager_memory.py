"""Eager mode on the memory store: an app with ``broker_url="memory://"`` records eager results there.

``AsyncResult(id).get()`` and ``GroupResult.save()``/``restore()`` then work
for eager ids, and nothing reaches Redis. Without a memory broker, eager
results are stored only with ``task_store_eager_result`` (Celery's rule).
"""
from __future__ import annotations

from typing import Any

import pytest

from mrqc import AsyncResult, Celery, EagerResult, GroupResult, group, states
from mrqcore.store.memory import MemoryJobStore


class Boom(Exception):
    pass


def make_app(broker: str | None = "memory://", **conf: Any) -> Any:
    app = Celery("eager-memory", broker=broker, set_as_current=False)
    app.conf.task_always_eager = True
    for name, value in conf.items():
        setattr(app.conf, name, value)

    @app.task(name="eager_memory.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="eager_memory.boom")
    def boom(message: str) -> None:
        raise Boom(message)

    return app


def test_a_memory_broker_app_runs_on_a_memory_store(runtime: Any) -> None:
    app = make_app()
    assert isinstance(app.runtime.store, MemoryJobStore)
    assert app.runtime is not runtime and app.runtime is app.runtime  # its own, built once
    result = app.tasks["eager_memory.add"].delay(2, 3)
    assert isinstance(result, EagerResult) and result.get() == 5
    stored = AsyncResult(result.id, app=app)
    assert stored.exists and stored.state == states.SUCCESS and stored.get(timeout=5) == 5
    assert stored.name == "eager_memory.add" and stored.date_done is not None
    assert app.runtime.store.get(result.id, ("worker",)) == {"worker": "eager"}
    assert runtime.store.get(result.id) is None  # nothing went to the test's Redis


def test_an_eager_failure_is_stored_with_its_exception(runtime: Any) -> None:
    app = make_app()
    result = app.tasks["eager_memory.boom"].delay("bad input")
    assert result.state == states.FAILURE
    stored = AsyncResult(result.id, app=app)
    assert stored.state == states.FAILURE and stored.failed()
    with pytest.raises(Boom, match="bad input"):
        stored.get(timeout=5)
    assert "Boom: bad input" in (stored.traceback or "")


@pytest.fixture
def current_app() -> Any:
    """A memory-broker eager app made the current app (a group takes the current app), then put back."""
    from mrqc import _state
    previous = _state.get_current_app()
    app = make_app()
    _state.set_current_app(app)
    yield app
    _state.set_current_app(previous)


def test_group_results_save_and_restore_under_eager_mode(current_app: Any) -> None:
    app = current_app
    add = app.tasks["eager_memory.add"]
    saved = group(add.s(i, i) for i in range(3)).delay()
    assert saved.app is app
    saved.save()
    restored = GroupResult.restore(saved.id, app=app)
    assert restored is not None and [r.id for r in restored.results] == [r.id for r in saved.results]
    assert restored.get(timeout=5) == [0, 2, 4]
    restored.delete()
    assert GroupResult.restore(saved.id, app=app) is None


def test_named_memory_stores_are_shared_in_the_process(runtime: Any) -> None:
    first, second = make_app("memory://eager-shared"), make_app("memory://eager-shared")
    result = first.tasks["eager_memory.add"].delay(1, 1)
    assert AsyncResult(result.id, app=second).get(timeout=5) == 2
    other = make_app("memory://")
    assert not AsyncResult(result.id, app=other).exists


def test_without_a_memory_broker_eager_results_are_not_stored(runtime: Any) -> None:
    app = make_app(broker=None)
    result = app.tasks["eager_memory.add"].delay(2, 2)
    assert result.get() == 4
    assert runtime.store.get(result.id) is None


def test_task_store_eager_result_stores_in_the_apps_store(runtime: Any) -> None:
    app = make_app(broker=None, task_store_eager_result=True)
    result = app.tasks["eager_memory.add"].delay(4, 4)
    assert app.runtime is runtime  # no broker of its own: the process's runtime (the test's Redis)
    assert AsyncResult(result.id, app=app).get(timeout=5) == 8
    assert runtime.store.get(result.id, ("status",)) == {"status": "success"}
