"""essaim legal_categories_load PATH: load the INSEE legal categories (CSV ``code;libelle``)."""

from django.core.management.base import BaseCommand, CommandError

from essaim.actors.legal_categories import LegalCategoryError, legal_categories_load


class Command(BaseCommand):
    help = "Charge les catégories juridiques de l'Insee (niveau III) depuis un fichier CSV « code;libelle »."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Fichier CSV (séparateur ; ou ,), UTF-8 ou Windows-1252.")

    def handle(self, *args, path, **options):
        try:
            summary = legal_categories_load(path=path)
        except LegalCategoryError as exc:
            raise CommandError(f"{exc} Aucune donnée n'a été modifiée.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Catégories juridiques : {summary.created} ajoutée(s), {summary.updated} mise(s) à jour, "
                f"{summary.unchanged} inchangée(s)."
            )
        )
