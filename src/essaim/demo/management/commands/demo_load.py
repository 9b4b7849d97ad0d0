"""``essaim demo_load``: load the demonstration data set (idempotent, atomic)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from essaim.demo.services import DemoDataError, demo_load


class Command(BaseCommand):
    help = (
        "Charge les données de démonstration : territoires cités dans les comptes rendus (Pays Midi-Quercy, "
        "Périgord Vert, Sicoval, Toulouse Métropole, Colomiers), leurs structures et des comptes fictifs. "
        "Relancer la commande ne crée pas de doublon."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help=(
                "Autorise le chargement avec les réglages de production, ou dans une base qui contient déjà "
                "d'autres comptes (les mots de passe de la démo sont publics)."
            ),
        )

    def handle(self, *args, allow_production: bool, **options):
        if settings.ESSAIM_ENVIRONMENT == "production" and not allow_production:
            raise CommandError(
                "Refusé avec les réglages de production : la démo crée des comptes dont les mots de passe "
                "sont publics. Utilisez « essaim demo », ou --allow-production si c'est vraiment voulu."
            )
        try:
            summary = demo_load(allow_real_database=allow_production)
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(self.style.SUCCESS("Données de démonstration chargées."))
        self.stdout.write(f"  Périmètres  : {summary.perimeters}")
        if summary.home_perimeter:
            self.stdout.write(f"  Territoire d'action : {summary.home_perimeter}")
        self.stdout.write(f"  Structures  : {summary.structures}")
        self.stdout.write(f"  Comptes     : {summary.accounts}")
        self.stdout.write(f"  Appartenances : {summary.memberships}")
        self.stdout.write("")
        self.stdout.write("Comptes de démonstration (fictifs, mots de passe publics) :")
        header = ("Adresse électronique", "Mot de passe", "Rôle", "Structures")
        rows = [header, *summary.account_rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for index, row in enumerate(rows):
            self.stdout.write(
                "  "
                + "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
            )
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * width for width in widths))
