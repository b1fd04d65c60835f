"""Rows of docs/celery-compat.md's API status table that no other test covered, each beside real Celery.

Every check here runs in-process (eager mode or no worker): the app's small
methods (``register_task``, ``signature``, ``now``, ``set_default``,
``on_after_finalize``, ``control.terminate``), ``mrqc.uuid``, the accepted
no-op task and call options, ``max_retries=None``, ``ResultSet`` and the
refused constructor arguments.
"""
from __future__ import annotations

import datetime as dt
import re

import celery
import pytest

import mrqc
from mrqc import Celery
from mrqc.exceptions import UnsupportedOption


@pytest.fixture
def eager_app():
    app = Celery("status_rows", set_as_current=False, broker="memory://status-rows")
    app.conf.task_always_eager = True
    return app


def test_uuid_is_a_task_id_like_celerys():
    ours, theirs = mrqc.uuid(), celery.uuid()
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(pattern, ours) and re.fullmatch(pattern, theirs) and mrqc.uuid() != ours


def test_app_now_is_an_aware_utc_datetime_as_celerys(eager_app):
    real = celery.Celery(set_as_current=False)
    ours, theirs = eager_app.now(), real.now()
    assert ours.tzinfo is not None and theirs.tzinfo is not None
    assert ours.utcoffset() == theirs.utcoffset() == dt.timedelta(0)


def test_app_signature_and_set_default(eager_app):
    sig = eager_app.signature("status_rows.add", args=(1, 2), countdown=3)
    assert (sig.task, tuple(sig.args), sig.options["countdown"]) == ("status_rows.add", (1, 2), 3)
    assert sig.app is eager_app
    before = mrqc.current_app
    try:
        eager_app.set_default()
        assert mrqc.current_app.main == "status_rows"
    finally:
        before.set_current()


def test_register_task_and_on_after_finalize(eager_app):
    seen = []
    eager_app.on_after_finalize.connect(lambda sender, **kw: seen.append(sender))

    class Multiply(eager_app.Task):
        name = "status_rows.multiply"

        def run(self, x, y):
            return x * y

    task = eager_app.register_task(Multiply)
    assert eager_app.tasks["status_rows.multiply"] is task
    eager_app.finalize()
    eager_app.finalize()
    assert seen == [eager_app]  # once, as in Celery
    assert task.delay(6, 7).get() == 42


def test_accepted_no_op_options_and_max_retries_none(eager_app):
    calls = []

    @eager_app.task(bind=True, max_retries=None, default_retry_delay=0, throws=(KeyError,), track_started=True,
                    trail=True, send_events=False, store_errors_even_if_ignored=True, lazy=True, typing=True)
    def flaky(self, n):
        calls.append(n)
        if len(calls) < 5:  # past Celery's default of 3: max_retries=None retries forever
            raise self.retry()
        return len(calls)

    result = flaky.apply_async((1,), shadow="flaky-shadow", add_to_parent=False, reply_to="x",
                               retry=True, retry_policy={"max_retries": 1})
    assert result.get() == 5
    flaky.send_event("task-custom", extra=1)  # a no-op: no event bus


def test_control_terminate_is_revoke_with_terminate(runtime):
    from tests.compat import proj_tasks  # noqa: F401
    from tests.compat.proj import app
    from mrqcore.job import Job
    result = proj_tasks.add.delay(1, 2)  # no worker: it waits
    app.control.terminate(result.id)
    assert Job(result.id).fetch().status == "cancel" and result.state == "REVOKED"


def test_result_set_over_eager_results(eager_app):
    @eager_app.task
    def double(x):
        return 2 * x

    rs = mrqc.ResultSet([double.delay(i) for i in range(3)])
    assert rs.get() == [0, 2, 4] and rs.ready() and rs.successful() and rs.completed_count() == 3


@pytest.mark.parametrize("argument", ["loader", "amqp", "events", "log", "control"])
def test_celery_constructor_arguments_without_a_meaning_here_are_refused(argument):
    with pytest.raises(UnsupportedOption, match=argument):
        Celery("refused", set_as_current=False, **{argument: object()})


def test_task_received_is_sent_by_the_worker_with_the_request(redis_url):
    from mrqc import signals
    from mrqc.contrib.pytest import _create_app
    from mrqc.contrib.testing import start_worker as start_test_worker
    seen = []

    def receiver(sender=None, request=None, **kwargs):
        seen.append((sender, request.id, request.task))

    signals.task_received.connect(receiver)
    try:
        with _create_app(broker_url=redis_url, result_backend=redis_url) as app:
            @app.task(name="status_rows.hello")
            def hello():
                return "hi"

            with start_test_worker(app) as controller:
                result = hello.delay()
                assert result.get(timeout=20) == "hi"
                assert seen == [(controller.worker, result.id, "status_rows.hello")]
    finally:
        signals.task_received.disconnect(receiver)


def test_current_task_is_the_running_task(eager_app):
    @eager_app.task(bind=True, name="status_rows.who")
    def who(self):
        return mrqc.current_task.name, mrqc.current_task.request.id == self.request.id

    assert list(who.delay().get()) == ["status_rows.who", True]


def test_every_test_named_in_the_status_table_exists():
    """docs/celery-compat.md names a test for its rows: each named file and test function exists."""
    import ast
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[2]
    text = (root / "docs" / "celery-compat.md").read_text()
    table = text[text.index("## API status"):text.index("## Settings")]
    shop = "tests/compat_project/project/shop_tests/test_shop.py"
    checked = 0
    for row in table.splitlines():
        if not row.startswith("|") or "Test" not in row:
            continue
        current = None
        for ref in re.findall(r"`([\w/.]*::\w+|[\w/]*test_\w+\.py|tests/[\w/]+/)`", row):
            path, _, name = ref.partition("::")
            if path == "shop":
                path = shop
            elif path == "":
                path = current
            elif not path.startswith("tests/"):
                path = "tests/compat/" + path
            current = path
            assert (root / path).exists(), f"{ref}: no {path}"
            if name:
                tree = ast.parse((root / path).read_text())
                names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
                assert name in names, f"{ref}: {path} has no {name}"
            checked += 1
    assert checked > 60
