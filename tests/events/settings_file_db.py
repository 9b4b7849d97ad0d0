"""Test settings with an on-disk SQLite test database, for the real-concurrency tests.

pytest-django gives SQLite an in-memory test database: one connection shared by every thread, so no real
concurrency. ``test_concurrency.py`` runs itself again in a subprocess with these settings, where each thread
opens its own connection to a file with the production options (WAL, IMMEDIATE transactions, busy timeout).
"""

import os

from essaim.settings.test import *  # noqa: F403
from essaim.settings.test import DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": os.environ["ESSAIM_TEST_SQLITE_FILE"]}
