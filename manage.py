#!/usr/bin/env python3
"""Development entry point: same as the ``essaim`` command, with development settings by default."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")
    from essaim.cli import main

    sys.exit(main())
