"""The wire's settings: amqp:// only with celery_wire, and the rule that picks mrqc's own Redis."""
from __future__ import annotations

import pytest

from mrqc import Celery
from mrqc.bridge import store_url, wire_enabled
from mrqc.exceptions import ImproperlyConfigured

AMQP = "amqp://guest:guest@rabbit.example//"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("MRQC_CELERY_WIRE", raising=False)
    monkeypatch.delenv("MRQC_REDIS", raising=False)


def test_amqp_needs_the_wire():
    with pytest.raises(ImproperlyConfigured, match="celery_wire"):
        Celery("w1", broker=AMQP, set_as_current=False)
    app = Celery("w2", broker=AMQP, celery_wire=True, set_as_current=False)  # any order in one call
    assert wire_enabled(app) and app.conf.broker_url == AMQP
    later = Celery("w3", set_as_current=False)
    later.conf.celery_wire = True
    later.conf.broker_url = AMQP
    assert later.conf.broker_url == AMQP


def test_the_environment_turns_the_wire_on(monkeypatch):
    monkeypatch.setenv("MRQC_CELERY_WIRE", "1")
    app = Celery("w4", broker=AMQP, set_as_current=False)
    assert wire_enabled(app)


@pytest.mark.parametrize("settings, env, expected", [
    ({"broker_url": "redis://b/0"}, None, "redis://b/0"),  # no wire: the broker's Redis, as always
    ({"broker_url": "redis://b/0", "result_backend": "redis://r/1", "celery_wire": True}, None, "redis://r/1"),
    ({"broker_url": "redis://b/0", "celery_wire": True}, None, "redis://b/0"),
    ({"broker_url": AMQP, "result_backend": "redis://r/1", "celery_wire": True}, None, "redis://r/1"),
    ({"broker_url": AMQP, "result_backend": "redis://r/1", "celery_wire": True,
      "mrqc_redis": "redis://m/2"}, None, "redis://m/2"),
    ({"broker_url": AMQP, "result_backend": "redis://r/1", "celery_wire": True}, "redis://e/3", "redis://e/3"),
    ({"broker_url": AMQP, "celery_wire": True}, None, None),  # the process's runtime (embedded Redis)
])
def test_the_store_url_rule(settings, env, expected, monkeypatch):
    if env:
        monkeypatch.setenv("MRQC_REDIS", env)
    app = Celery("rule", set_as_current=False, **settings)
    assert store_url(app) == expected
