"""Production settings for a benchmark process, to call before ``django.setup()``.

Writes a settings module ``bench_settings`` (production settings with DEBUG off, plus what a benchmark
needs: local host names, static files served from the apps) in a temporary directory that lives as long as
the process, puts it on ``sys.path`` and in ``DJANGO_SETTINGS_MODULE``, and points ``ESSAIM_VAR_DIR``
there. Without ``DATABASE_URL``, the database is a SQLite file in that directory.
"""

import os
import sys
import tempfile
from pathlib import Path

SETTINGS = (
    "import os\n"
    "os.environ.setdefault('SECRET_KEY', 'benchmark-only-insecure-key')\n"
    "os.environ.setdefault('ESSAIM_HTTPS', 'false')\n"
    "from essaim.settings.base import *  # noqa\n"
    "ALLOWED_HOSTS = ['127.0.0.1', 'localhost', 'testserver']\n"
    "STORAGES = {**STORAGES, 'staticfiles': "
    "{'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    "WHITENOISE_USE_FINDERS = True\n"
    "STATIC_ROOT.mkdir(parents=True, exist_ok=True)\n"
)

_directory: tempfile.TemporaryDirectory | None = None


def use_production_settings(extra: str = "") -> Path:
    """Set this process up as described above (``extra``: more settings lines); return the directory."""
    global _directory
    _directory = tempfile.TemporaryDirectory(prefix="essaim-bench-")
    path = Path(_directory.name)
    (path / "bench_settings.py").write_text(SETTINGS + extra)
    sys.path.insert(0, str(path))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{path}/bench.sqlite3")
    os.environ["ESSAIM_VAR_DIR"] = str(path)
    return path
