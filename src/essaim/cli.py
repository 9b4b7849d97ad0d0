"""The ``essaim`` command: Django's management commands plus the project's own (demo, serve, worker, ...)."""

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    # The demo and development helpers run without production secrets; everything else defaults to production.
    dev_commands = {"demo"}
    default = "essaim.settings.dev" if len(argv) > 1 and argv[1] in dev_commands else "essaim.settings.base"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default)

    from django.core.exceptions import ImproperlyConfigured

    try:
        import django

        django.setup()
    except ImproperlyConfigured as exc:
        print(f"essaim : configuration invalide — {exc}", file=sys.stderr)
        return 2

    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
