"""Settings and options: Celery's names work, unknown or unsupported ones fail loudly, naming them."""
from __future__ import annotations

import datetime

import pytest

from mrqc import Celery
from mrqc.exceptions import ImproperlyConfigured, UnsupportedOption


def new_app(**kwargs):
    return Celery("cfgtest", set_as_current=False, **kwargs)


def test_new_and_old_names():
    app = new_app(broker="redis://127.0.0.1:6379/3")
    app.conf.update(CELERY_ALWAYS_EAGER=True, CELERYD_CONCURRENCY=4)
    assert app.conf.task_always_eager is True and app.conf["CELERY_ALWAYS_EAGER"] is True
    assert app.conf.worker_concurrency == 4
    assert app.conf.broker_url == "redis://127.0.0.1:6379/3" and app.conf.BROKER_URL == app.conf.broker_url
    app.conf.task_default_queue = "q1"
    assert app.conf.CELERY_DEFAULT_QUEUE == "q1"


def test_unknown_setting_is_an_error_with_a_hint():
    app = new_app()
    with pytest.raises(ImproperlyConfigured, match="'task_always_eagr'.*did you mean 'task_always_eager'"):
        app.conf.task_always_eagr = True
    with pytest.raises(ImproperlyConfigured, match="unknown Celery setting 'brokr_url'"):
        new_app(brokr_url="redis://x")
    with pytest.raises(AttributeError):
        app.conf.not_a_setting


@pytest.mark.parametrize("setting,value,words", [
    ("broker_url", "amqp://guest@localhost//", "runs on Redis"),
    ("result_backend", "db+sqlite:///results.db", "job records"),
    ("task_serializer", "pickle", "only 'json'"),
    ("accept_content", ["pickle"], "must accept 'json'"),
    ("task_compression", "gzip", "compression"),
    ("enable_utc", False, "only True"),
    ("timezone", "Mars/Olympus", "unknown time zone"),
    ("broker_use_ssl", {"cert_reqs": 1}, "rediss://"),
    ("cassandra_servers", ["h"], "job records"),
    ("task_time_limit", "ten", "seconds"),
    ("task_default_rate_limit", "10/fortnight", "rate"),
])
def test_unsupported_values_name_the_setting(setting, value, words):
    app = new_app()
    with pytest.raises(ImproperlyConfigured) as caught:
        app.conf[setting] = value
    assert setting in str(caught.value) and words in str(caught.value)


def test_harmless_settings_are_accepted():
    app = new_app()
    app.conf.update(worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True, task_track_started=True,
                    result_extended=True, timezone="Europe/Paris", enable_utc=True, accept_content=["json"],
                    result_backend="redis://127.0.0.1:6379/1", broker_transport_options={"visibility_timeout": 60})
    assert app.conf.worker_prefetch_multiplier == 1


def test_config_from_object_module_path():
    app = new_app()
    app.config_from_object("tests.compat.celeryconfig_sample")
    assert app.conf.task_default_queue == "sample" and app.conf.task_soft_time_limit == 30
    assert app.conf.result_expires == datetime.timedelta(hours=2)
    assert app.conf.seconds("result_expires") == 7200


def test_config_from_object_namespace_on_any_object():
    app = new_app()
    app.config_from_object("tests.compat.celeryconfig_sample:settings", namespace="CELERY")
    assert app.conf.task_always_eager is True and app.conf.worker_concurrency == 7
    assert app.conf.task_routes == {"a.*": {"queue": "qa"}}
    from tests.compat.celeryconfig_sample import BadNamespaced, Typo
    with pytest.raises(ImproperlyConfigured, match="TASK_ALWAYS_EAGR|task_always_eagr"):
        new_app().config_from_object(BadNamespaced, namespace="CELERY")
    with pytest.raises(ImproperlyConfigured, match="broker_ur1"):
        new_app().config_from_object(Typo)


def test_config_from_envvar(monkeypatch):
    app = new_app()
    monkeypatch.setenv("MY_CELERY_CONFIG", "tests.compat.celeryconfig_sample")
    app.config_from_envvar("MY_CELERY_CONFIG")
    assert app.conf.task_default_queue == "sample"
    with pytest.raises(ImproperlyConfigured, match="NOT_SET_VAR"):
        app.config_from_envvar("NOT_SET_VAR")


def test_unknown_task_option_fails_at_declaration_with_a_hint():
    app = new_app()
    with pytest.raises(ImproperlyConfigured, match="'max_retry'.*did you mean 'max_retries'"):
        @app.task(max_retry=3)
        def f():
            pass
    with pytest.raises(UnsupportedOption, match="serializer='pickle'"):
        @app.task(serializer="pickle")
        def h():
            pass
    with pytest.raises(ImproperlyConfigured, match="rate_limit"):
        @app.task(rate_limit="lots")
        def i():
            pass
    with pytest.raises(ImproperlyConfigured, match="autoretry_for"):
        @app.task(autoretry_for=("IOError",))
        def j():
            pass


def test_unknown_call_option_fails(app):
    from tests.compat.proj_tasks import add
    with pytest.raises(TypeError, match="'countdwn'.*did you mean 'countdown'"):
        add.apply_async((1, 2), countdwn=3)
    with pytest.raises(ImproperlyConfigured, match="priority must be a whole number"):
        add.apply_async((1, 2), priority="urgent")  # priorities are supported (test_canvas_shapes.py)
    with pytest.raises(UnsupportedOption, match="not supported"):
        app.control.pool_restart()  # remote control exists (docs/remote-control.md); this command does not


def test_task_annotations_apply():
    app = new_app(task_annotations={"cfgtest.slow": {"rate_limit": "2/s"}, "*": {"max_retries": 7}})

    @app.task(name="cfgtest.slow")
    def slow():
        pass

    @app.task(name="cfgtest.other")
    def other():
        pass

    assert slow.rate_limit == "2/s" and slow.max_retries == 7 and other.max_retries == 7
    with pytest.raises(ImproperlyConfigured, match="max_retry"):
        app.conf.task_annotations = {"*": {"max_retry": 1}}


def test_worker_options_for_mrqc_worker_A():
    app = new_app(broker="redis://127.0.0.1:6379/5", include=["tests.compat.celeryconfig_sample"])
    app.conf.update(task_default_queue="main", worker_concurrency=8, worker_max_tasks_per_child=100,
                    worker_max_memory_per_child=200_000, task_routes={"x.*": "xq", "y.task": {"queue": "yq"}},
                    task_queues=["extra"])

    @app.task(queue="own")
    def t():
        pass

    options = app.mrqc_worker_options()
    assert options["redis"] == "redis://127.0.0.1:6379/5"
    assert options["queues"][0] == "main" and set(options["queues"]) == {"main", "own", "xq", "yq", "extra"}
    assert options["imports"] == ["tests.compat.celeryconfig_sample"]
    assert options["greenlets"] == 8 and options["max_jobs"] == 100 and options["max_memory"] == 195
    assert options["default_queue"] == "main"


def test_gen_task_name_and_registry():
    app = new_app()

    @app.task
    def some_task():
        pass

    assert some_task.name == f"{__name__}.some_task"
    assert app.tasks[some_task.name] is some_task
    from mrqc.exceptions import NotRegistered
    with pytest.raises(NotRegistered):
        app.tasks["nope"]
    with pytest.raises(KeyError):
        app.tasks["nope"]
    # mrqcore finds it by name in any runtime (through the bridge's task finder)
    from mrqcore.config import Config
    from mrqcore.runtime import Runtime
    from mrqc.bridge import CeleryJobTask
    found = Runtime(Config({})).tasks.load(some_task.name)
    assert issubclass(found, CeleryJobTask) and found.celery_task() is some_task


def test_on_after_configure_and_add_periodic_task():
    app = new_app()
    seen = []

    @app.on_after_configure.connect
    def setup(sender, **kwargs):
        seen.append(sender)
        sender.add_periodic_task(10.0, ping.s("hi"), name="ping every 10")

    @app.task
    def ping(x):
        return x

    app.finalize()
    app.finalize()
    assert seen == [app]
    entry = app.conf.beat_schedule["ping every 10"]
    assert entry == {"schedule": 10.0, "task": ping.name, "args": ("hi",), "kwargs": {}, "options": {}}
    assert app._periodic_tasks["ping every 10"] == entry


def test_task_default_retry_delay_setting():
    app = new_app(task_default_retry_delay=5)

    @app.task
    def uses_setting():
        pass

    @app.task(default_retry_delay=9)
    def own_delay():
        pass

    assert uses_setting._default_retry_delay() == 5 and own_delay._default_retry_delay() == 9
    assert new_app().task(lambda: None, name="cfgtest.plain")._default_retry_delay() == 180


def test_app_bound_result_classes(app, runtime):
    from mrqc import AsyncResult
    from tests.compat.proj_tasks import add
    result = add.delay(1, 1)
    bound = app.AsyncResult(result.id)
    assert isinstance(bound, AsyncResult) and bound.app is app and bound == result
    assert isinstance(bound, app.AsyncResult)
    from mrqc import group
    grp = group(add.s(1, 1), add.s(2, 2)).apply_async()
    restored = app.GroupResult.restore(grp.id)
    assert restored.app is app and [r.id for r in restored] == [r.id for r in grp]


def test_task_routes_forms():
    app = new_app()

    def router(name, args, kwargs, options, task=None, **kw):
        return {"queue": "by-function"} if name.endswith(".fn") else None

    import re
    app.conf.task_routes = [router, {"x.exact": "exact-q", "x.glob.*": {"queue": "glob-q"},
                                     re.compile(r"^x\.re\d$"): {"routing_key": "re-q"}}]
    assert app.queue_for("x.fn") == "by-function"
    assert app.queue_for("x.exact") == "exact-q"
    assert app.queue_for("x.glob.anything") == "glob-q"
    assert app.queue_for("x.re1") == "re-q"
    assert app.queue_for("x.other") == "celery"
    assert app.queue_for("x.exact", options={"queue": "explicit"}) == "explicit"
    app.conf.task_routes = {"x.*": {"queue": "q", "priority": 5}}
    with pytest.raises(UnsupportedOption, match="priority"):
        app.queue_for("x.y")


def test_autodiscover_tasks(tmp_path, monkeypatch):
    import sys
    for name in ("discapp_one", "discapp_two"):
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text("")
    (tmp_path / "discapp_one" / "tasks.py").write_text(
        "from mrqc import shared_task\n\n@shared_task\ndef found():\n    return 'found'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    app = new_app()
    try:
        app.autodiscover_tasks(["discapp_one", "discapp_two"])
        assert "discapp_one.tasks.found" not in app.tasks  # lazy, as in Celery
        app.finalize()
        assert app.tasks["discapp_one.tasks.found"]() == "found"
        assert "discapp_one.tasks" in app.mrqc_worker_options()["imports"]
    finally:
        for name in ("discapp_one", "discapp_one.tasks", "discapp_two"):
            sys.modules.pop(name, None)


def test_conf_get_of_unknown_name_is_harmless():
    app = new_app()
    assert app.conf.get("PROJECT_CUSTOM_THING", 5) == 5
    assert app.conf.get("task_default_queue") == "celery"
    with pytest.raises(ImproperlyConfigured, match="PROJECT_CUSTOM_THING"):
        app.conf["PROJECT_CUSTOM_THING"] = 1


def test_config_object_without_namespace_reads_only_celery_names():
    from tests.compat.celeryconfig_sample import DjangoWithoutNamespace, OldNameTypo
    app = new_app()
    app.config_from_object(DjangoWithoutNamespace)
    assert app.conf.task_always_eager is True and app.conf.broker_url == "redis://127.0.0.1:6379/0"
    with pytest.raises(ImproperlyConfigured, match="CELERY_ALWAYS_EAGR"):
        new_app().config_from_object(OldNameTypo)
