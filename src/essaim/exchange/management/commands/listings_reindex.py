"""essaim listings_reindex: rewrite every listing's copies of its structure and its search document."""

import time

from django.core.management.base import BaseCommand
from django.db import transaction

from essaim.exchange.models import Listing
from essaim.exchange.search import listings_reindex


class Command(BaseCommand):
    help = (
        "Recopie sur chaque offre ou besoin le point, la commune et l'état publié de sa structure, et "
        "réécrit son document de recherche. À lancer après une écriture qui contourne l'application (SQL "
        "direct, mise à jour des points ou des rattachements des communes, puis « essaim map_reindex »)."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        with transaction.atomic():
            listings_reindex()
        self.stdout.write(
            self.style.SUCCESS(
                f"{Listing.objects.count()} offre(s) et besoin(s) réindexé(s) en "
                f"{time.monotonic() - started:.1f} s."
            )
        )
