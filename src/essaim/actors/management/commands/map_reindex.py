"""essaim map_reindex: rebuild the map's snapshots and precomputed cells from the structures."""

import time

from django.core.management.base import BaseCommand

from essaim.actors.geo import map_reindex


def _number(value: float) -> str:
    # French digit grouping with a narrow no-break space.
    return f"{value:,.0f}".replace(",", "\u202f")


class Command(BaseCommand):
    help = (
        "Recalcule la position sur la carte de chaque structure et reconstruit les regroupements "
        "précalculés de la carte. À lancer après une écriture qui contourne l'application (SQL direct, "
        "mise à jour des points des communes)."
    )

    def handle(self, *args, **options):
        started = time.monotonic()

        def progress(done: int) -> None:
            if options["verbosity"] >= 2:
                self.stdout.write(f"{_number(done)} structures relues…")

        result = map_reindex(progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Carte reconstruite en {time.monotonic() - started:.1f} s : "
                f"{_number(result['structures'])} position(s) de structure mise(s) à jour, "
                f"{_number(result['cells'])} cellules précalculées."
            )
        )
