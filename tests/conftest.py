import pytest
from django.core.cache import cache
from huey.contrib.djhuey import HUEY


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _queued_email(settings):
    """Django's test set-up swaps EMAIL_BACKEND for locmem: put the product's queue back in the path, so every
    test sends mail the way production does. Delivery (ESSAIM_EMAIL_DELIVERY_BACKEND) still ends in
    django.core.mail.outbox once the transaction commits.
    """
    settings.EMAIL_BACKEND = "essaim.core.mail.QueuedEmailBackend"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate limits are counted in the cache (local memory in tests): each test starts with fresh counters."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _empty_task_queue():
    """Huey's immediate mode keeps its schedule in memory: each test starts with an empty one."""
    HUEY.flush()
    yield
    HUEY.flush()
