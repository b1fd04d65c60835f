"""Issue 9 item 10: Redis passwords never appear in settings listings or error messages."""
from __future__ import annotations

import pytest

from mrqcore.config import Config
from mrqcore.exceptions import ConfigError
from mrqcore.store.redis import connect
from mrqcore.urls import mask_url

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize("url, shown", [
    (f"redis://:{SECRET}@db.example:6379/0", "redis://:********@db.example:6379/0"),
    (f"rediss://app:{SECRET}@db.example:6380/1?ssl_cert_reqs=required",
     "rediss://app:********@db.example:6380/1?ssl_cert_reqs=required"),
    (f"redis://db.example/0?db=1&password={SECRET}", "redis://db.example/0?db=1&password=********"),
    (f"unix:///run/redis.sock?password={SECRET}&db=2", "unix:///run/redis.sock?password=********&db=2"),
    (f"redis://:p@ss{SECRET}@db.example:port/0", "redis://:********@db.example:port/0"),
    ("redis://db.example:6379/0", "redis://db.example:6379/0"),
    ("redis://user@db.example", "redis://user@db.example"),
    ("not a url", "not a url"),
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown


@pytest.mark.parametrize("url", [
    f"http://:{SECRET}@db.example:6379/0",      # wrong scheme
    f"redis://:{SECRET}@db.example:notaport/0",  # does not parse
])
def test_connect_errors_do_not_show_the_password(url):
    with pytest.raises(ConfigError) as caught:
        connect(url)
    message = str(caught.value)
    assert SECRET not in message
    assert "db.example" in message  # still says which URL


def test_config_type_error_does_not_show_the_password():
    with pytest.raises(ConfigError) as caught:
        Config.load(env={}, overrides={"greenlets": f"redis://:{SECRET}@h/0"})
    assert SECRET not in str(caught.value) and "greenlets" in str(caught.value)


def test_celery_conf_humanize_and_table_are_censored():
    from mrqc import Celery
    app = Celery("masking", broker=f"redis://:{SECRET}@db.example:6379/0", set_as_current=False)
    app.conf.result_backend = f"redis://user:{SECRET}@db.example:6379/1"
    app.conf.beat_schedule = {"nightly": {"task": "t", "schedule": 60, "options": {"api_token": SECRET}}}
    for text in (app.conf.humanize(), app.conf.humanize(with_defaults=True), repr(app.conf.table()),
                 repr(app.conf.table(with_defaults=True))):
        assert SECRET not in text
        assert "redis://:********@db.example:6379/0" in text
        assert "redis://user:********@db.example:6379/1" in text
    assert SECRET in app.conf.humanize(censored=False)
    assert app.conf.table(censored=False)["broker_url"] == f"redis://:{SECRET}@db.example:6379/0"
    assert app.conf.broker_url == f"redis://:{SECRET}@db.example:6379/0"  # reading is not masked


def test_celery_bad_broker_url_error_does_not_show_the_password():
    from mrqc import Celery
    from mrqc.exceptions import ImproperlyConfigured
    app = Celery("masking2", set_as_current=False)
    with pytest.raises(ImproperlyConfigured) as caught:
        app.conf.broker_url = f"amqp://guest:{SECRET}@rabbit.example//"
    assert SECRET not in str(caught.value) and "rabbit.example" in str(caught.value)
    with pytest.raises(ImproperlyConfigured) as caught:
        app.conf.result_backend = f"db+postgresql://u:{SECRET}@pg.example/x"
    assert SECRET not in str(caught.value)
