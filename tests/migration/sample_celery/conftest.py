"""Root conftest of the newsroom project: Celery's pytest fixtures (celery_app, celery_worker)."""
import os

import pytest

pytest_plugins = ("celery.contrib.pytest",)


@pytest.fixture(scope="session")
def celery_config():
    """The fixtures' test app uses the same Redis, under a key prefix of its own."""
    url = os.environ.get("NEWSROOM_BROKER_URL", "redis://127.0.0.1:6379/12")
    prefix = os.environ.get("NEWSROOM_KEY_PREFIX", "newsroom:") + "fixtures:"
    return {"broker_url": url, "result_backend": url,
            "broker_transport_options": {"global_keyprefix": prefix},
            "result_backend_transport_options": {"global_keyprefix": prefix}}
