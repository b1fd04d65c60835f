"""Middleware and tasks belong to a runtime; the ``middleware`` setting loads middleware into it."""
from __future__ import annotations

from typing import Any

import pytest

from mrqcore import middleware
from mrqcore.config import Config
from mrqcore.exceptions import ConfigError
from mrqcore.job import Job, queue_job
from mrqcore.middleware import Middleware, MiddlewareList
from mrqcore.runtime import Runtime
from tests.tasks.basic import Add, Echo
from tests.tasks.middleware_sample import Recorder, recorder

SAMPLE = "tests.tasks.middleware_sample"


def test_middleware_setting_loads_classes_instances_and_paths():
    runtime = Runtime(Config({"middleware": [f"{SAMPLE}.Recorder", f"{SAMPLE}.recorder", Recorder]}))
    loaded = runtime.middleware.registered()
    assert [type(m) for m in loaded] == [Recorder, Recorder, Recorder]
    assert loaded[1] is recorder
    assert Runtime(Config({})).middleware.registered() == []


def test_middleware_setting_from_the_environment():
    config = Config.load(env={"MRQC_MIDDLEWARE": f"{SAMPLE}.Recorder,{SAMPLE}.recorder"}, cwd="/")
    assert [type(m) for m in Runtime(config).middleware] == [Recorder, Recorder]


@pytest.mark.parametrize("entry, message", [
    (f"{SAMPLE}.Missing", "cannot import"),
    ("nosuchmodule_xyz.Thing", "cannot import"),
    (f"{SAMPLE}.not_middleware", "not a Middleware"),
    ("Recorder", "not a 'module.attr' path"),
    (42, "not a Middleware"),
])
def test_bad_middleware_entries_name_the_setting(entry, message):
    with pytest.raises(ConfigError, match=f"middleware.*{message}"):
        Runtime(Config({"middleware": [entry]}))


def test_before_hooks_in_order_after_hooks_in_reverse():
    calls: list[str] = []

    class Named(Middleware):
        def __init__(self, name: str) -> None:
            self.name = name

        def worker_start(self, worker: Any) -> None:
            calls.append(f"start:{self.name}")

        def worker_stop(self, worker: Any) -> None:
            calls.append(f"stop:{self.name}")
            raise RuntimeError("logged, not raised")

    chain = MiddlewareList([Named("a"), Named("b")])
    chain.emit_before("worker_start", None)
    chain.emit_after("worker_stop", None)
    assert calls == ["start:a", "start:b", "stop:b", "stop:a"]
    with pytest.raises(TypeError, match="not a mrqcore.middleware.Middleware"):
        chain.register(object())  # type: ignore[arg-type]


def test_register_shortcut_uses_the_current_runtime_only(runtime):
    other = Runtime(Config({}))
    mw = Recorder()
    middleware.register(mw)
    assert mw in runtime.middleware and mw not in other.middleware
    assert middleware.registered() == runtime.middleware.registered()
    middleware.unregister(mw)
    assert mw not in runtime.middleware


def test_task_registrations_belong_to_one_runtime(runtime):
    other = Runtime(Config({}))
    runtime.tasks.register("echo-by-name", Echo)
    assert runtime.tasks.load("echo-by-name") is Echo
    from mrqcore.exceptions import TaskNotFoundError
    with pytest.raises(TaskNotFoundError):
        other.tasks.load("echo-by-name")
    runtime.tasks.register("echo-by-name", Add)  # a new registration replaces the cached class
    assert runtime.tasks.load("echo-by-name") is Add


def test_worker_runs_the_middleware_of_the_setting(runtime, run_burst, redis_client):
    job_id = queue_job("tests.tasks.basic.Add", {"a": 2, "b": 3})
    run_burst("default", env={"MRQC_MIDDLEWARE": f"{SAMPLE}.Recorder"})
    assert Job(job_id).wait(timeout=5) == 5
    seen = redis_client.lrange(runtime.config.redis_prefix + "test:middleware", 0, -1)
    assert seen == ["worker_start", "before_perform:tests.tasks.basic.Add", "after_perform:success:5",
                    "worker_stop"]


def test_after_enqueue_sees_the_specs_written(runtime):
    seen: list[tuple[str, str]] = []

    class Enqueued(Middleware):
        def after_enqueue(self, specs: Any) -> None:
            seen.extend((spec.id, spec.queue) for spec in specs)

    runtime.middleware.register(Enqueued())
    ids = [queue_job("tests.tasks.basic.Add", {"a": 1, "b": 1}, queue="q1")]
    from mrqcore.job import queue_jobs
    ids += queue_jobs("tests.tasks.basic.Add", [{"a": 1, "b": 2}, {"a": 1, "b": 3}], queue="q2")
    assert seen == [(ids[0], "q1"), (ids[1], "q2"), (ids[2], "q2")]
