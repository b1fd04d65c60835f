"""Orders: creation, payment (with retries), stock, pricing, and the checkout workflow."""
from celery import chain, chord, group, shared_task

from shop import effects
from shop.celery import app
from shop.tasks.base import AuditedTask

PRICES = {"apple": 3, "pear": 4, "plum": 5, "fig": 7}


class PaymentDeclined(Exception):
    """The payment gateway refused the charge."""


class GatewayUnavailable(ConnectionError):
    """The inventory service did not answer (worth retrying)."""


@app.task
def create_order(order_id, items):
    effects.record("orders:created", order_id)
    return {"order_id": order_id, "items": items, "total": sum(PRICES[i] for i in items)}


@shared_task
def reserve_stock(order):
    effects.record("stock:reserved:" + order["order_id"], order["items"])
    return dict(order, reserved=True)


@app.task(bind=True, max_retries=3, base=AuditedTask)
def charge_payment(self, order, fail_times=0):
    """Charge the order; the gateway is down for the first ``fail_times`` attempts."""
    effects.record("payment:attempts:" + order["order_id"], self.request.retries)
    if effects.bump("gateway:" + order["order_id"]) <= fail_times:
        raise self.retry(exc=PaymentDeclined(f"gateway down for {order['order_id']}"), countdown=1)
    return dict(order, paid=True)


@app.task(bind=True, autoretry_for=(GatewayUnavailable,), retry_backoff=True, retry_backoff_max=4,
          retry_jitter=False, max_retries=4)
def sync_inventory(self, warehouse, fail_times=0):
    """Pull stock levels; the first ``fail_times`` calls find the service unavailable."""
    effects.record("inventory:attempts:" + warehouse, self.request.retries)
    if effects.bump("inventory:" + warehouse) <= fail_times:
        raise GatewayUnavailable(f"inventory service unavailable for {warehouse}")
    return {"warehouse": warehouse, "synced": True}


@shared_task
def price_item(sku):
    if sku not in PRICES:
        raise KeyError(f"no price for {sku!r}")
    return PRICES[sku]


@shared_task
def total_prices(prices):
    return sum(prices)


@shared_task
def chord_failed(request, exc, traceback):
    """Errback (Celery's documented signature): record which task failed and why."""
    effects.record("errback:" + request.id, type(exc).__name__)


@shared_task
def cleanup_carts():
    effects.record("carts:cleaned", True)
    return "cleaned"


def checkout(order_id, items, fail_times=0):
    """The checkout workflow: create -> reserve -> charge, as one chain."""
    return chain(create_order.s(order_id, items), reserve_stock.s(),
                 charge_payment.s(fail_times=fail_times)).apply_async()


def price_list(skus):
    """Every SKU's price, priced in parallel."""
    return group(price_item.s(sku) for sku in skus).apply_async()


def basket_total(skus):
    """Price the SKUs in parallel, then add them up (a chord); failures call ``chord_failed``."""
    return chord((price_item.s(sku) for sku in skus), total_prices.s().on_error(chord_failed.s())).apply_async()
