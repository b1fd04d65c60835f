"""``use_celery_app_trap``: code that relies on the current app fails loudly."""
import pytest


@pytest.fixture(scope="session")
def use_celery_app_trap():
    return True


def test_current_app_is_trapped(celery_app):
    from mrqc import current_app
    with pytest.raises(RuntimeError, match="current_app"):
        current_app.conf
    assert celery_app.conf is not None  # the fixture's own app is fine
