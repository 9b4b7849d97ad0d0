"""essaim territories_load [--source PATH]: load the COG (régions, départements, EPCI, communes)."""

from django.core.management.base import BaseCommand, CommandError

from essaim.territories.exceptions import TerritoryError
from essaim.territories.services import territories_load_cog


class Command(BaseCommand):
    help = (
        "Charge les régions, départements, EPCI et communes actuelles depuis le paquet npm "
        "@etalab/decoupage-administratif (node_modules, sinon téléchargé avec npm pack et vérifié)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source", help="Dossier du paquet décompressé ou archive .tgz (par défaut : node_modules)."
        )

    def handle(self, *args, source=None, **options):
        def progress(message: str) -> None:
            if options["verbosity"] > 0:
                self.stdout.write(message)

        try:
            summary = territories_load_cog(source=source, progress=progress)
        except TerritoryError as exc:
            raise CommandError(f"{exc} Aucune donnée n'a été modifiée.") from exc
        for label, count in summary.counts.items():
            self.stdout.write(
                f"  {label} : {count} (ajout {summary.created[label]}, mise à jour {summary.updated[label]}, "
                f"suppression {summary.deleted[label]})"
            )
        if summary.perimeters_rebuilt:
            self.stdout.write(f"  périmètres recalculés : {summary.perimeters_rebuilt}")
        self.stdout.write(self.style.SUCCESS(f"COG chargé en {summary.seconds} s."))
