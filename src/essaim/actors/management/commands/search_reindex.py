"""essaim search_reindex: rewrite the search documents of every structure and rebuild the full-text index."""

import time

from django.core.management.base import BaseCommand

from essaim.actors.models import Structure
from essaim.actors.search import search_index_rebuild


class Command(BaseCommand):
    help = (
        "Reconstruit l'index de recherche plein texte de l'annuaire (après un chargement des territoires "
        "qui renomme des communes, ou une écriture faite hors de l'application)."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        search_index_rebuild()
        self.stdout.write(
            f"Index de recherche reconstruit : {Structure.objects.count()} fiche(s) "
            f"en {time.monotonic() - started:.1f} s."
        )
