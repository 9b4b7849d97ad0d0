"""essaim quality_refresh: recompute the stored quality score of every structure card."""

from django.core.management.base import BaseCommand

from essaim.actors.quality import quality_refresh


class Command(BaseCommand):
    help = "Recalcule le score de qualité de toutes les fiches (complétude et fraîcheur de la vérification)."

    def handle(self, *args, **options):
        updated = quality_refresh()
        self.stdout.write(f"Score de qualité recalculé : {updated} fiche(s) modifiée(s).")
