"""``mrqc.contrib.pytest``: the fixtures of ``celery.contrib.pytest``, for mrqc apps.

Enable it in your root ``conftest.py`` (it is not auto-registered, see
docs/celery-testing.md for why)::

    pytest_plugins = ["mrqc.contrib.pytest"]

Then existing Celery tests keep working::

    @pytest.fixture(scope="session")
    def celery_config():
        return {"broker_url": "redis://localhost:6379/0"}

    def test_add(celery_app, celery_worker):
        @celery_app.task
        def mul(x, y):
            return x * y
        celery_worker.reload()
        assert mul.delay(4, 4).get(timeout=10) == 16

Fixtures (same names, scopes and override points as Celery 5): ``celery_app``,
``celery_worker``, ``celery_session_app``, ``celery_session_worker``,
``celery_config``, ``celery_parameters``, ``celery_includes``,
``celery_class_tasks``, ``celery_worker_pool``, ``celery_worker_parameters``,
``celery_enable_logging``, ``use_celery_app_trap``, ``depends_on_current_app``,
and the ``@pytest.mark.celery(**config)`` marker.

Differences: every app gets its own mrqcore runtime with a fresh Redis key
prefix (Redis from ``broker_url`` if it is a Redis URL, else from mrqc's
config: ``MRQC_REDIS``, or the embedded Redis), installed as current while the
app lives, and its keys are deleted afterwards; so tests never see each
other's jobs. The worker is ``mrqc worker``'s loop (``mrqcore.worker.Worker``)
with the solo pool, in a thread of the test process, one job at a time (see
``mrqc.contrib.testing``); Celery's worker signals fire as in ``mrqc worker``.
With a process pool (``celery_worker_pool`` returning ``"prefork"``, as Celery's
own integration suite does) the session worker is a real ``mrqc worker``
process instead (``mrqc.contrib.testing.process``), and a test using both
``celery_app`` and ``celery_session_app`` sends through the session app's store.
``NO_WORKER=1`` skips starting workers, as in Celery.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from typing import Any, Iterator, Mapping, Sequence

import pytest

NO_WORKER = os.environ.get("NO_WORKER")


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "celery(**overrides): override celery configuration for a test case")


class _AppTrap:
    """Stands in for the current app when ``use_celery_app_trap`` is True: any use raises."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("Test depends on current_app")


@contextlib.contextmanager
def _create_app(enable_logging: bool = False, use_trap: bool = False, parameters: Mapping[str, Any] | None = None,
                share_runtime: Any = None, **config: Any) -> Iterator[Any]:
    """An mrqc app with its own runtime (fresh key prefix), made as Celery's ``TestApp`` is.

    ``share_runtime``: a runtime to use instead (the session app's); it is neither cleared nor closed here.
    """
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime, set_runtime

    from mrqc import Celery
    from mrqc import _state

    parameters = dict(parameters or {})
    main = parameters.pop("main", "celery.tests")
    app = Celery(main, set_as_current=False, **parameters)
    app.conf.update(config)
    from mrqc.bridge import runtime_settings
    if share_runtime is not None:
        runtime = share_runtime
    else:
        # The app's store URL as its own runtime would read it (Redis, Sentinel, the wire's rule), on a
        # key prefix of this test's own.
        overrides: dict[str, Any] = {key: value for key, value in runtime_settings(app).items() if key == "redis"}
        overrides["redis_prefix"] = f"mrqc-test-{uuid.uuid4().hex[:10]}:"
        runtime = Runtime(Config.load(overrides=overrides))
    app.mrqc_bind_runtime(runtime)  # the app's own runtime, whatever its broker_url builds
    previous_runtime = set_runtime(runtime)
    previous_app = _state._current_app
    if use_trap:
        _state.set_current_app(_AppTrap())  # type: ignore[arg-type]
    try:
        yield app
    finally:
        _state._current_app = previous_app
        set_runtime(previous_runtime)
        if share_runtime is None:
            _delete_prefix(runtime)
            runtime.close()


def _delete_prefix(runtime: Any) -> None:
    with contextlib.suppress(Exception):
        runtime.store.clear()


def _import_includes(app: Any, includes: Sequence[str]) -> None:
    import importlib
    for module in includes:
        importlib.import_module(module)


@pytest.fixture(scope="session")
def use_celery_app_trap() -> bool:
    """Override to return True: using the current/default app then raises."""
    return False


@pytest.fixture(scope="session")
def celery_session_app(request: Any, celery_config: Mapping[str, Any], celery_parameters: Mapping[str, Any],
                       celery_enable_logging: bool, use_celery_app_trap: bool) -> Iterator[Any]:
    """Session fixture: the app for session fixtures (set as current unless the trap is on)."""
    mark = request.node.get_closest_marker("celery")
    config = dict(celery_config, **mark.kwargs if mark else {})
    with _create_app(enable_logging=celery_enable_logging, use_trap=use_celery_app_trap,
                     parameters=celery_parameters, **config) as app:
        if not use_celery_app_trap:
            app.set_default()
            app.set_current()
        yield app


@pytest.fixture(scope="session")
def celery_session_worker(request: Any, celery_session_app: Any, celery_includes: Sequence[str],
                          celery_class_tasks: Sequence[Any], celery_worker_pool: Any,
                          celery_worker_parameters: Mapping[str, Any]) -> Iterator[Any]:
    """Session fixture: a worker that lives throughout the test session."""
    from .testing import start_worker
    from .testing.process import PROCESS_POOLS, start_worker_process
    if NO_WORKER:
        yield None
        return
    _import_includes(celery_session_app, celery_includes)
    for class_task in celery_class_tasks:
        celery_session_app.register_task(class_task)
    if str(celery_worker_pool).lower() in PROCESS_POOLS:
        with start_worker_process(celery_session_app, includes=celery_includes, class_tasks=celery_class_tasks,
                                  **celery_worker_parameters) as process:
            yield process
        return
    with start_worker(celery_session_app, pool=celery_worker_pool, **celery_worker_parameters) as worker:
        yield worker


@pytest.fixture(scope="session")
def celery_enable_logging() -> bool:
    """Override to enable logging (accepted; mrqc's worker logs through ``logging`` anyway)."""
    return False


@pytest.fixture(scope="session")
def celery_includes() -> Sequence[str]:
    """Override to list modules the worker imports (task modules, signal handlers...)."""
    return ()


@pytest.fixture(scope="session")
def celery_worker_pool() -> Any:
    """The test worker's pool: ``"solo"`` (default) runs it in a thread of the test process; a process pool
    (``"prefork"``, ``"gevent"``) makes the session worker a real ``mrqc worker`` process (see
    ``mrqc.contrib.testing.process``)."""
    return "solo"


@pytest.fixture(scope="session")
def celery_config() -> Mapping[str, Any]:
    """Override to configure the test app (``app.conf`` settings)."""
    return {}


@pytest.fixture(scope="session")
def celery_parameters() -> Mapping[str, Any]:
    """Override to pass arguments to ``Celery(...)``."""
    return {}


@pytest.fixture(scope="session")
def celery_worker_parameters() -> Mapping[str, Any]:
    """Override to pass arguments to the test worker (``queues=[...]``, ``shutdown_timeout=...``)."""
    return {}


@pytest.fixture()
def celery_app(request: Any, celery_config: Mapping[str, Any], celery_parameters: Mapping[str, Any],
               celery_enable_logging: bool, use_celery_app_trap: bool) -> Iterator[Any]:
    """A fresh app for one test (its own Redis key prefix); ``@pytest.mark.celery(...)`` overrides config."""
    mark = request.node.get_closest_marker("celery")
    config = dict(celery_config, **mark.kwargs if mark else {})
    # A test that also uses the session app (Celery's integration suite does) sends through celery_app to the
    # session worker, as in Celery where both apps share one broker: celery_app then shares its store and key
    # prefix.
    shared = None
    if "celery_session_app" in request.fixturenames:
        from .testing import runtime_of
        shared = runtime_of(request.getfixturevalue("celery_session_app"))
    with _create_app(enable_logging=celery_enable_logging, use_trap=use_celery_app_trap,
                     parameters=celery_parameters, share_runtime=shared, **config) as app:
        yield app


@pytest.fixture(scope="session")
def celery_class_tasks() -> Sequence[Any]:
    """Override to list class-based task instances to register with the session app."""
    return []


@pytest.fixture()
def celery_worker(request: Any, celery_app: Any, celery_includes: Sequence[str], celery_worker_pool: Any,
                  celery_worker_parameters: Mapping[str, Any]) -> Iterator[Any]:
    """A worker for ``celery_app`` (``mrqcore.worker.Worker``, solo pool) in a thread of this process,
    stopped when the test returns."""
    from .testing import start_worker
    if NO_WORKER:
        yield None
        return
    _import_includes(celery_app, celery_includes)
    with start_worker(celery_app, pool=celery_worker_pool, **celery_worker_parameters) as worker:
        yield worker


@pytest.fixture()
def depends_on_current_app(celery_app: Any) -> None:
    """Make ``celery_app`` the current app."""
    celery_app.set_current()
