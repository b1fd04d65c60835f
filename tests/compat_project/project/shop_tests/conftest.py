"""Fixtures of the shop's own test suite.

The suite runs against a worker that is already serving the shop's queues
(``celery -A shop worker -Q default,emails,reports``), or with
``SHOP_EAGER=1`` in eager mode, where tests that need a real worker skip.
"""
import uuid

import pytest

from shop import effects
from shop.celery import app as shop_app

TIMEOUT = 30


@pytest.fixture
def app():
    return shop_app


@pytest.fixture
def eager(app):
    return bool(app.conf.task_always_eager)


@pytest.fixture
def needs_worker(eager):
    if eager:
        pytest.skip("eager mode runs tasks in-process: no expiry, time limits or chord errbacks")


@pytest.fixture
def uid():
    """A fresh id, so every test counts only its own effects."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def fx():
    return effects
