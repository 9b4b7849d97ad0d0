"""Development and demo settings: local, debug on, no secret required."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-never-use-in-production")
os.environ.setdefault("ESSAIM_HTTPS", "false")

from essaim.settings.base import *  # noqa: F403

DEBUG = True
ESSAIM_ENVIRONMENT = "dev"
INTERNAL_IPS = ["127.0.0.1"]
