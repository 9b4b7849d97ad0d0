"""``essaim serve``: the production web server (gunicorn, static files by WhiteNoise)."""

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """Gunicorn's usual 2 x cores + 1, capped so a large machine does not exhaust database connections."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(2 * cores + 1, MAX_DEFAULT_WORKERS)


def workers_from_env() -> int | None:
    """``WEB_CONCURRENCY`` as a positive integer, None when unset; CommandError when it is not a number."""
    value = os.environ.get("WEB_CONCURRENCY", "").strip()
    if not value:
        return None
    try:
        workers = int(value)
    except ValueError:
        raise CommandError(f"WEB_CONCURRENCY={value!r} : nombre entier attendu.") from None
    return workers


class Command(BaseCommand):
    help = (
        "Lance le serveur web de production (gunicorn) : collecte les fichiers statiques, "
        "vérifie la configuration de déploiement puis sert l'application."
    )
    # The deployment checks run below, with --deploy, before the server starts.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind",
            default=os.environ.get("ESSAIM_BIND") or "127.0.0.1:8000",
            metavar="HOTE:PORT",
            help="Adresse d'écoute, ou unix:/chemin (par défaut : $ESSAIM_BIND ou 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=f"Processus web (défaut : $WEB_CONCURRENCY ou 2 x cœurs + 1, max. {MAX_DEFAULT_WORKERS}).",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="Ne lance pas collectstatic (fichiers déjà collectés, par exemple à l'installation).",
        )

    def handle(self, *args, bind: str, workers: int | None, no_collectstatic: bool, **options):
        if workers is None:
            workers = workers_from_env()
        if workers is None:
            workers = default_workers()
        if workers < 1:
            raise CommandError("Le nombre de processus (--workers, WEB_CONCURRENCY) doit être au moins 1.")

        assets_dir = Path(settings.ESSAIM_ASSETS_DIR)
        if not assets_dir.is_dir():
            raise CommandError(
                f"Ressources front-end absentes ({assets_dir}) : lancez d'abord scripts/setup --prod, "
                "ou « npm ci --ignore-scripts --omit=dev » puis « essaim vendor_assets »."
            )
        if not no_collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
            self.stdout.write(f"Fichiers statiques collectés dans {settings.STATIC_ROOT}.")
        # Errors stop here (SystemCheckError); warnings are printed and the server starts anyway.
        call_command("check", deploy=True)

        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "essaim.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            # Recycling workers now and then bounds the memory a long-running process can accumulate.
            "--max-requests",
            "2000",
            "--max-requests-jitter",
            "200",
        ]
        self.stdout.write(f"Essaim sert sur {bind} avec {workers} processus (gunicorn).")
        sys.stdout.flush()
        sys.stderr.flush()
        # exec: gunicorn takes this process over, so a supervisor's signals (systemd, Ctrl-C) reach it.
        os.execv(sys.executable, argv)  # noqa: S606 - fixed argument list, no shell
