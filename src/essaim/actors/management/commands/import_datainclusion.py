"""essaim import_datainclusion FILE [--dry-run]: import data·inclusion v1 structures (JSON)."""

from django.core.management.base import BaseCommand, CommandError

from essaim.actors.importers.base import ImportError_
from essaim.actors.importers.datainclusion import datainclusion_count, datainclusion_import
from essaim.actors.importers.progress import progress_printer, report_lines


class Command(BaseCommand):
    help = (
        "Importe des structures au format data·inclusion v1 (liste JSON), validées avec le schéma officiel. "
        "Relancer l'import met à jour les fiches sans créer de doublon."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Fichier JSON (liste de structures data·inclusion).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Tout vérifier et compter sans rien écrire."
        )

    def handle(self, *args, path, **options):
        verbose = options["verbosity"] > 0
        try:
            progress = progress_printer(self.stderr, total=datainclusion_count(path), verbose=verbose)
            run = datainclusion_import(path=path, dry_run=options["dry_run"], progress=progress)
        except ImportError_ as exc:
            raise CommandError(f"{exc} Aucune donnée n'a été modifiée.") from exc
        if verbose and progress.interactive:
            self.stderr.write("")
        for line in report_lines(run):
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Import n° {run.pk} terminé."))
