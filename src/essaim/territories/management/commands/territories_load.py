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
        if summary.merged:
            self.stdout.write(
                f"  communes fusionnées (remplacées par leur commune nouvelle) : {len(summary.merged)}"
            )
        for label, count in sorted(summary.repointed.items()):
            self.stdout.write(f"  {label} : {count} rattachement(s) à la commune nouvelle")
        for label, count in sorted(summary.orphaned.items()):
            self.stdout.write(
                self.style.WARNING(
                    f"  {label} : {count} ligne(s) liée(s) à une commune supprimée sans successeur connu"
                )
            )
        if summary.perimeters_rebuilt:
            self.stdout.write(f"  périmètres recalculés : {summary.perimeters_rebuilt}")
        for report in summary.perimeter_reports:
            style = self.style.WARNING if report.needs_attention else (lambda text: text)
            self.stdout.write(style(f"  {report.message()}"))
        self.stdout.write(self.style.SUCCESS(f"COG chargé en {summary.seconds} s."))
