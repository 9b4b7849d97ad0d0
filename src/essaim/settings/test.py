"""Test settings: in-process queue, fast hashing, outgoing mail kept in memory."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key")
os.environ.setdefault("ESSAIM_HTTPS", "false")

from essaim.settings.base import *  # noqa: F403
from essaim.settings.base import DATABASES as _DATABASES
from essaim.settings.base import HUEY, VAR_DIR

if _DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A test database in a file, not Django's shared-cache memory database: there, concurrent writers fail at
    # once with "database table is locked" instead of queueing, so tests with real threads (workshops votes)
    # could not check the IMMEDIATE-transaction locking production relies on. One file per test process.
    import tempfile

    _DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"essaim-test-{os.getpid()}.sqlite3")
    }

ESSAIM_ENVIRONMENT = "test"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUEY = {**HUEY, "immediate": True}
ESSAIM_EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Map tiles: a blank inline image (img-src allows data:), so pages with a map make no request to another
# host in tests (the browser tests block and report those).
ESSAIM_MAP_TILES_URL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
# Manifest storage needs collectstatic; tests serve files straight from the apps.
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "test-media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# WhiteNoise warns when STATIC_ROOT is missing; tests use finders instead of collected files.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = VAR_DIR / "test-static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
