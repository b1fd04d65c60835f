"""The shop's test suite, written the way a Celery user writes one.

Results are awaited with ``AsyncResult.get(timeout=...)``; effects that happen
after the result is stored (postrun signals, hooks) are awaited with
``wait_until``. Nothing sleeps and the tests measure no time of their own: the
rate-limit test reads the start times the task itself recorded.
"""
import os
from datetime import datetime, timedelta, timezone

import pytest
from celery.exceptions import ChordError, SoftTimeLimitExceeded, TaskRevokedError
from celery.result import AsyncResult
from celery.schedules import crontab

from shop.tasks import orders
from shop.tasks.base import export_catalog
from shop.tasks.emails import send_reminder, send_welcome_email
from shop.tasks.orders import (PaymentDeclined, basket_total, charge_payment, checkout, create_order,
                               price_item, price_list, sync_inventory)
from shop.tasks.reports import build_report, daily_sales, export_page

from .conftest import TIMEOUT


def test_delay_and_async_result(app, eager, uid, fx):
    result = create_order.delay(uid, ["apple", "pear"])
    assert result.get(timeout=TIMEOUT) == {"order_id": uid, "items": ["apple", "pear"], "total": 7}
    assert result.state == "SUCCESS"
    assert result.successful() and result.ready() and not result.failed()
    assert result.result["total"] == 7
    if not eager:  # eager results are not stored in the backend
        again = AsyncResult(result.id, app=app)
        assert again.get(timeout=TIMEOUT)["total"] == 7
        assert app.AsyncResult(result.id).state == "SUCCESS"
    assert fx.seen("orders:created").count(uid) == 1


def test_unknown_task_id_is_pending(app):
    assert AsyncResult("no-such-task-" + os.urandom(4).hex(), app=app).state == "PENDING"


def test_countdown_and_routing(uid, fx):
    result = send_welcome_email.apply_async((uid,), countdown=1)
    assert result.get(timeout=TIMEOUT) == f"welcome sent to {uid}"
    assert fx.seen("emails:welcome").count(uid) == 1
    assert send_welcome_email.rate_limit == "100/m"


def test_expires_in_the_future_runs(uid, fx):
    result = send_reminder.apply_async((uid,), expires=120)
    assert result.get(timeout=TIMEOUT) == f"reminder sent to {uid}"
    assert fx.seen("emails:reminder").count(uid) == 1


def test_expired_task_is_revoked(needs_worker, uid, fx):
    past = datetime.now(timezone.utc) - timedelta(minutes=5)
    result = send_reminder.apply_async((uid,), expires=past)
    with pytest.raises(TaskRevokedError):
        result.get(timeout=TIMEOUT)
    assert result.state == "REVOKED"
    assert fx.seen("emails:reminder").count(uid) == 0


def test_bind_retry_with_countdown(uid, fx):
    order = {"order_id": uid, "items": ["fig"]}
    result = charge_payment.delay(order, fail_times=2)
    assert result.get(timeout=TIMEOUT) == dict(order, paid=True)
    assert fx.seen("payment:attempts:" + uid) == [0, 1, 2]
    fx.wait_until(lambda: fx.count("audit:success:" + result.id), message="on_success hook")
    assert fx.seen("audit:success:" + result.id)[0]["task"] == "shop.tasks.orders.charge_payment"


def test_retries_exhausted_reraises(uid, fx):
    order = {"order_id": uid, "items": ["fig"]}
    result = charge_payment.delay(order, fail_times=100)
    with pytest.raises(PaymentDeclined):
        result.get(timeout=TIMEOUT)
    assert result.state == "FAILURE"
    assert result.failed()
    assert isinstance(result.result, PaymentDeclined)
    assert fx.seen("payment:attempts:" + uid) == [0, 1, 2, 3]
    fx.wait_until(lambda: fx.count("audit:failure:" + result.id), message="on_failure hook")
    assert fx.seen("audit:failure:" + result.id) == [
        {"task": "shop.tasks.orders.charge_payment", "exc": "PaymentDeclined", "args": [order]}]


def test_autoretry_with_backoff(uid, fx):
    result = sync_inventory.delay("wh-" + uid, fail_times=2)
    assert result.get(timeout=TIMEOUT) == {"warehouse": "wh-" + uid, "synced": True}
    assert fx.seen("inventory:attempts:wh-" + uid) == [0, 1, 2]


def test_chain(uid, fx):
    result = checkout(uid, ["apple", "plum"], fail_times=1)
    final = result.get(timeout=TIMEOUT)
    assert final == {"order_id": uid, "items": ["apple", "plum"], "total": 8, "reserved": True, "paid": True}
    assert result.parent.get(timeout=TIMEOUT)["reserved"] is True
    assert fx.seen("stock:reserved:" + uid) == [["apple", "plum"]]
    assert fx.seen("payment:attempts:" + uid) == [0, 1]


def test_group():
    result = price_list(["apple", "plum", "fig"])
    assert result.get(timeout=TIMEOUT) == [3, 5, 7]
    assert result.ready() and result.successful()
    assert len(result.results) == 3


def test_chord():
    assert basket_total(["apple", "pear", "fig"]).get(timeout=TIMEOUT) == 14


def test_chord_errback(needs_worker, app, fx):
    result = basket_total(["apple", "kiwi"])
    with pytest.raises(KeyError):  # get() re-raises the failed header task's own error
        result.get(timeout=TIMEOUT)
    fx.wait_until(lambda: fx.count("errback:" + result.id), message="chord errback")
    assert fx.seen("errback:" + result.id) == ["ChordError"]
    body = app.AsyncResult(result.id)
    fx.wait_until(lambda: body.state == "FAILURE", message="chord body marked FAILURE")
    assert isinstance(body.result, ChordError)


def test_link_error(fx):
    result = price_item.apply_async(("kiwi",), link_error=orders.chord_failed.s())
    with pytest.raises(KeyError):
        result.get(timeout=TIMEOUT)
    fx.wait_until(lambda: fx.count("errback:" + result.id), message="link_error errback")
    assert fx.seen("errback:" + result.id) == ["KeyError"]


def test_soft_time_limit(needs_worker, uid, fx):
    assert build_report.delay(uid).get(timeout=TIMEOUT) == "partial"
    assert fx.seen("reports:partial").count(uid) == 1
    assert issubclass(SoftTimeLimitExceeded, Exception)


def test_class_based_task(uid, fx):
    result = export_catalog.delay("csv", [uid, "sku-2"])
    assert result.get(timeout=TIMEOUT) == {"format": "csv", "rows": 2}
    fx.wait_until(lambda: fx.count("audit:success:" + result.id), message="on_success hook")
    with pytest.raises(ValueError):
        export_catalog.delay("xml", []).get(timeout=TIMEOUT)


def test_base_class_hooks(fx):
    ok = daily_sales.delay("eu")
    assert ok.get(timeout=TIMEOUT) == {"region": "eu"}
    bad = daily_sales.delay("mars")
    with pytest.raises(ValueError):
        bad.get(timeout=TIMEOUT)
    fx.wait_until(lambda: fx.count("audit:failure:" + bad.id), message="on_failure hook")
    fx.wait_until(lambda: fx.count("audit:success:" + ok.id), message="on_success hook")
    assert fx.seen("audit:failure:" + bad.id) == [
        {"task": "shop.tasks.reports.daily_sales", "exc": "ValueError", "args": ["mars"]}]
    assert fx.seen("audit:success:" + ok.id) == [
        {"task": "shop.tasks.reports.daily_sales", "retval": {"region": "eu"}}]


def test_signals(uid, fx):
    good = create_order.delay(uid, ["pear"])
    good.get(timeout=TIMEOUT)
    bad = price_item.delay("kiwi")
    with pytest.raises(KeyError):
        bad.get(timeout=TIMEOUT)
    for result in (good, bad):
        fx.wait_until(lambda: fx.count("signal:postrun:" + result.id), message="task_postrun")
    assert fx.seen("signal:prerun:" + good.id) == ["shop.tasks.orders.create_order"]
    assert fx.seen("signal:success:" + good.id) == ["shop.tasks.orders.create_order"]
    assert fx.seen("signal:postrun:" + good.id) == ["SUCCESS"]
    assert fx.seen("signal:failure:" + good.id) == []
    assert fx.seen("signal:prerun:" + bad.id) == ["shop.tasks.orders.price_item"]
    assert fx.seen("signal:failure:" + bad.id) == ["KeyError"]
    assert fx.seen("signal:postrun:" + bad.id) == ["FAILURE"]
    assert fx.seen("signal:success:" + bad.id) == []


def test_beat_schedule(app):
    schedule = app.conf.beat_schedule
    assert {"nightly-sales-report", "cleanup-carts", "weekly-digest", "hourly-inventory-sync",
            "monthly-invoices", "heartbeat"} <= set(schedule)
    assert schedule["nightly-sales-report"]["schedule"] == crontab(minute=30, hour=2)
    assert schedule["weekly-digest"]["schedule"] == crontab(minute=0, hour=9, day_of_week="mon")
    assert schedule["monthly-invoices"]["schedule"] == crontab(minute=0, hour=0, day_of_month="1")
    assert schedule["cleanup-carts"]["schedule"] == timedelta(minutes=10)
    assert schedule["hourly-inventory-sync"]["schedule"] == 3600.0
    assert schedule["hourly-inventory-sync"]["task"] == "shop.tasks.orders.sync_inventory"
    assert list(schedule["hourly-inventory-sync"]["args"]) == ["warehouse-1"]
    assert schedule["heartbeat"]["options"] == {"queue": "reports"}


def test_beat_entries_run(app):
    """Every periodic entry names a registered task that accepts its arguments."""
    for name, entry in app.conf.beat_schedule.items():
        task = app.tasks[entry["task"]]
        result = task.apply_async(args=entry.get("args", ()), kwargs=entry.get("kwargs", {}),
                                  **entry.get("options", {}))
        assert result.get(timeout=TIMEOUT) is not None, name


@pytest.mark.skipif(os.environ.get("SHOP_EXPECT_BEAT") != "1", reason="no beat running beside the worker")
def test_beat_heartbeat_runs(fx):
    before = fx.count("heartbeat")
    fx.wait_until(lambda: fx.count("heartbeat") >= before + 2, timeout=60, message="two heartbeats from beat")


def test_rate_limit_spaces_calls_evenly(needs_worker, uid, fx):
    """rate_limit="4/s": one call every 0.25 s, so 8 calls span at least 1.75 s (Celery's
    token bucket), not two bursts of 4 in two one-second windows."""
    results = [export_page.delay(uid, page) for page in range(8)]
    assert sorted(r.get(timeout=TIMEOUT) for r in results) == list(range(8))
    starts = sorted(call["started"] for call in fx.seen("export:" + uid))
    assert len(starts) == 8
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
    # A call starts a little after the slot it was let through in: allow for that jitter.
    assert min(gaps) >= 0.25 - 0.15, gaps
    assert starts[-1] - starts[0] >= 1.75 - 0.15, gaps
