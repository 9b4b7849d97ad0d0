"""essaim perimeter_save --slug --name --kind [--epci ...] [--departement ...] [--commune ...] [--home]"""

from django.core.management.base import BaseCommand, CommandError

from essaim.territories.exceptions import TerritoryError
from essaim.territories.models import PerimeterKind
from essaim.territories.services import perimeter_save


class Command(BaseCommand):
    help = "Crée ou met à jour un périmètre (union d'EPCI, de départements, de régions et de communes)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="Identifiant du périmètre (ex. pays-midi-quercy).")
        parser.add_argument("--name", required=True, help="Nom affiché.")
        parser.add_argument("--kind", required=True, choices=PerimeterKind.values, help="Type de périmètre.")
        parser.add_argument("--description", default="")
        parser.add_argument("--epci", nargs="+", default=[], metavar="SIREN", help="Codes SIREN d'EPCI.")
        parser.add_argument(
            "--departement", nargs="+", default=[], metavar="CODE", help="Codes de départements."
        )
        parser.add_argument("--region", nargs="+", default=[], metavar="CODE", help="Codes de régions.")
        parser.add_argument(
            "--commune", nargs="+", default=[], metavar="INSEE", help="Codes INSEE de communes."
        )
        parser.add_argument(
            "--home", action="store_true", help="En faire le territoire d'action de l'instance."
        )

    def handle(self, *args, **options):
        try:
            perimeter = perimeter_save(
                slug=options["slug"],
                name=options["name"],
                kind=options["kind"],
                epci_codes=options["epci"],
                departement_codes=options["departement"],
                region_codes=options["region"],
                commune_codes=options["commune"],
                description=options["description"],
                is_home=options["home"],
            )
        except TerritoryError as exc:
            raise CommandError(str(exc)) from exc
        count = perimeter.communes.count()
        home = " (territoire d'action)" if perimeter.is_home else ""
        self.stdout.write(self.style.SUCCESS(f"Périmètre « {perimeter.name} »{home} : {count} communes."))
