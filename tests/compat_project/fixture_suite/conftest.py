"""A user's root conftest: enable mrqc's Celery-style fixtures and point the test app at Redis."""
import os

import pytest

pytest_plugins = ["mrqc.contrib.pytest"]


@pytest.fixture(scope="session")
def celery_config():
    return {"broker_url": os.environ.get("FIXTURE_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "result_backend": os.environ.get("FIXTURE_REDIS_URL", "redis://127.0.0.1:6379/0")}


@pytest.fixture(scope="session")
def celery_includes():
    return ["fixture_tasks"]
