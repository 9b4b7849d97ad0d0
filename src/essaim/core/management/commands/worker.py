"""``essaim worker``: the background task worker (huey consumer)."""

import os

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def default_workers() -> int:
    """``ESSAIM_WORKERS`` when set, else 2; CommandError when it is not a positive integer."""
    value = os.environ.get("ESSAIM_WORKERS", "").strip() or "2"
    try:
        workers = int(value)
    except ValueError:
        raise CommandError(f"ESSAIM_WORKERS={value!r} : nombre entier attendu.") from None
    return workers


class Command(BaseCommand):
    help = "Lance le worker de tâches de fond (envoi des courriels, traitements différés) avec huey."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Nombre de tâches traitées en parallèle (par défaut : $ESSAIM_WORKERS ou 2).",
        )
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="Ne planifie pas les tâches périodiques (pour tous les workers sauf un, avec Redis).",
        )

    def handle(self, *args, workers: int | None, no_periodic: bool, **options):
        workers = workers if workers is not None else default_workers()
        if workers < 1:
            raise CommandError("--workers / ESSAIM_WORKERS : au moins 1 tâche en parallèle.")
        # Threads: tasks mostly wait on the network (SMTP) or the database; each thread has its connection.
        huey_args = ["--workers", str(workers), "--worker-type", "thread"]
        if no_periodic:
            huey_args.append("--no-periodic")
        call_command("run_huey", *huey_args)
