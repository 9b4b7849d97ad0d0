"""``essaim demo``: a working demonstration instance in one command.

Creates and migrates the database, loads the French territories (once), optionally the commune points from a
La Poste file, then the demo data (idempotent, prints the demo accounts), and finally runs a task worker and
the web server until Ctrl-C. Running it again reuses what is already loaded and never duplicates data.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from essaim.territories.models import Commune

STOP_TIMEOUT = 10  # seconds a child process gets to stop cleanly before it is killed
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def essaim_command(*args: str) -> list[str]:
    """The command line running ``essaim <args>`` with the current interpreter (no PATH lookup)."""
    return [sys.executable, "-m", "essaim.cli", *args]


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """Ask every still-running process to stop (SIGTERM), then kill those that linger."""
    for process in processes:
        if process.poll() is None:
            # SIGTERM rather than SIGINT: a process started in the background may ignore SIGINT.
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Command(BaseCommand):
    help = (
        "Prépare une instance de démonstration (base de données, territoires, données de démo) "
        "puis lance le serveur web et un worker de tâches."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--laposte",
            type=Path,
            metavar="FICHIER_CSV",
            help="Fichier « base officielle des codes postaux » de La Poste (points des communes).",
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            help="Recharge les territoires (et les points des communes) même s'ils sont déjà en base.",
        )
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Charge les données puis s'arrête, sans lancer le serveur ni le worker.",
        )
        parser.add_argument(
            "--addr",
            default="127.0.0.1:8000",
            metavar="HOTE:PORT",
            help="Adresse d'écoute du serveur web (par défaut : 127.0.0.1:8000).",
        )

    def handle(self, *args, laposte: Path | None, reload: bool, no_serve: bool, addr: str, **options):
        if laposte is not None and not laposte.is_file():
            raise CommandError(f"Fichier La Poste introuvable : {laposte}")
        verbosity = options["verbosity"]

        self.step("Base de données : application des migrations")
        call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))

        if reload or not Commune.objects.exists():
            self.step("Territoires : chargement des régions, départements, EPCI et communes (COG)")
            call_command("territories_load", verbosity=verbosity)
        else:
            self.stdout.write("Territoires déjà chargés (--reload pour les recharger).")

        if laposte is not None:
            if reload or not Commune.objects.filter(latitude__isnull=False).exists():
                self.step(f"Territoires : points des communes depuis {laposte}")
                call_command("territories_points", str(laposte), verbosity=verbosity)
            else:
                self.stdout.write("Points des communes déjà chargés (--reload pour les recharger).")

        self.step("Données de démonstration")
        call_command("demo_load", verbosity=verbosity)

        if no_serve:
            self.stdout.write(self.style.SUCCESS("Démo prête : « essaim demo » sans --no-serve la sert."))
            return
        self.serve(addr)

    def step(self, message: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {message}"))

    def serve(self, addr: str) -> None:
        """Run the task worker and the web server as child processes until Ctrl-C or until one of them stops.

        Raises CommandError when a child stops on its own (port in use, crash): the other is stopped too.
        """
        # Children inherit the settings module chosen for this command (development settings for the demo).
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # Both stop the demo like Ctrl-C, even when SIGINT was ignored at start (shell background job).
        previous_handlers = {
            signum: signal.signal(signum, _raise_keyboard_interrupt) for signum in STOP_SIGNALS
        }
        processes: list[subprocess.Popen] = []
        stopped_alone: list[str] = []
        try:
            # Fixed argument lists, no shell: nothing here comes from untrusted input.
            processes.append(subprocess.Popen(essaim_command("run_huey", "--workers", "2"), env=env))  # noqa: S603
            # The demo serves the source tree directly: no collectstatic, no reloader (it would fork again).
            processes.append(
                subprocess.Popen(essaim_command("runserver", "--noreload", "--skip-checks", addr), env=env)  # noqa: S603
            )
            self.step(f"Démo servie sur http://{addr}/ (Ctrl-C pour arrêter)")
            while all(process.poll() is None for process in processes):
                try:
                    processes[-1].wait(timeout=1)
                except subprocess.TimeoutExpired:
                    continue
            names = ("le worker de tâches", "le serveur web")
            stopped_alone = [
                f"{name} (code {process.returncode})"
                for name, process in zip(names, processes, strict=True)
                if process.poll() is not None
            ]
        except KeyboardInterrupt:
            self.stdout.write("\nArrêt de la démo…")
        finally:
            stop_processes(processes)
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
        if stopped_alone:
            raise CommandError(f"Arrêt inattendu : {', '.join(stopped_alone)}. Voir les messages ci-dessus.")
        self.stdout.write("Démo arrêtée.")


def _raise_keyboard_interrupt(signum, frame):
    """Turn SIGINT/SIGTERM into KeyboardInterrupt, so the child processes are stopped too."""
    raise KeyboardInterrupt
