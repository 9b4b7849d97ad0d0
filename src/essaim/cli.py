"""The ``essaim`` command: Django's management commands plus the project's own (demo, serve, worker, ...)."""

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    # The demo, and the help listing, run without production secrets; everything else defaults to production.
    command = argv[1] if len(argv) > 1 else "help"
    dev_commands = {"demo", "help", "--help", "-h", "version", "--version"}
    default = "essaim.settings.dev" if command in dev_commands else "essaim.settings.base"
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
    # ``python -m essaim.cli`` (used to start child processes): name the program as the console script does.
    sys.exit(main(["essaim", *sys.argv[1:]]))
