"""essaim territories_points PATH [--geocode]: commune points from La Poste's postal codes CSV."""

from django.core.management.base import BaseCommand, CommandError

from essaim.territories.exceptions import TerritoryError
from essaim.territories.models import Commune
from essaim.territories.services import territories_geocode_missing, territories_load_points


class Command(BaseCommand):
    help = (
        "Charge les coordonnées des communes (et les codes postaux manquants) depuis la base officielle des "
        "codes postaux de La Poste (CSV séparé par « ; », colonne coordonnees_gps)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Fichier CSV de La Poste (laposte_hexasmal.csv).")
        parser.add_argument(
            "--geocode",
            action="store_true",
            help="Compléter les communes sans point avec le service public geo.api.gouv.fr (en ligne).",
        )

    def handle(self, *args, path, geocode=False, **options):
        def progress(message: str) -> None:
            if options["verbosity"] > 0:
                self.stdout.write(message)

        try:
            summary = territories_load_points(path=path, progress=progress)
        except TerritoryError as exc:
            raise CommandError(f"{exc} Aucune donnée n'a été modifiée.") from exc
        self.stdout.write(
            f"  lignes lues : {summary.rows} (dont {summary.rows_without_point} sans coordonnées)"
        )
        self.stdout.write(f"  communes mises à jour : {summary.communes_updated}")
        self.stdout.write(f"  codes postaux ajoutés : {summary.postal_codes_added}")
        if summary.unknown_codes:
            sample = ", ".join(summary.unknown_codes[:10])
            self.stdout.write(
                "  codes INSEE absents du COG chargé (anciennes communes, outre-mer hors DROM ; ignorés) : "
                f"{len(summary.unknown_codes)} "
                f"(ex. {sample})"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Points chargés en {summary.seconds} s : "
                f"{summary.communes_with_point}/{summary.communes_total} "
                f"communes ont un point ({summary.coverage:.2f} %)."
            )
        )
        if geocode:
            try:
                found = territories_geocode_missing(progress=progress)
            except TerritoryError as exc:
                raise CommandError(str(exc)) from exc
            total = Commune.objects.count()
            with_point = Commune.objects.with_point().count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Géocodage : {found} communes complétées ; {with_point}/{total} "
                    f"({100 * with_point / total:.2f} %) ont un point."
                )
            )
