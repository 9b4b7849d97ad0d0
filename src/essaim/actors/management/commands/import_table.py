"""essaim import_table FILE --source NAME [--mapping JSON] [--key COLUMN] [--dry-run]: import a CSV/XLSX
file of structures."""

import json

from django.core.management.base import BaseCommand, CommandError

from essaim.actors.importers.base import ImportError_
from essaim.actors.importers.cards import CARD_FIELDS
from essaim.actors.importers.progress import progress_printer, report_lines
from essaim.actors.importers.tabular import (
    check_mapping,
    guess_key_column,
    guess_mapping,
    import_source_for,
    import_source_remember,
    open_table,
    table_count_rows,
    table_import,
)


class Command(BaseCommand):
    help = (
        "Importe un tableau de structures (CSV ; ou , en UTF-8 ou Windows-1252, ou XLSX). La correspondance "
        "des colonnes est devinée d'après les en-têtes ou donnée par --mapping, puis retenue pour la source. "
        "Relancer l'import met à jour les fiches sans créer de doublon."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Fichier .csv ou .xlsx (la première ligne porte les en-têtes).")
        parser.add_argument("--source", required=True, help="Nom de la source (ex. « Réseau ESS Tarn »).")
        parser.add_argument(
            "--mapping",
            help='Correspondance en JSON, champ -> colonne, ex. {"name": "Raison sociale", "email": "Mail"}. '
            f"Champs : {', '.join(CARD_FIELDS)}.",
        )
        parser.add_argument("--key", help="Colonne portant l'identifiant des lignes dans la source.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Tout vérifier et compter sans rien écrire."
        )

    def handle(self, *args, path, source, mapping=None, key=None, **options):
        verbose = options["verbosity"] > 0
        try:
            import_source = import_source_for(name=source)
            with open_table(path) as table:
                header = table.header
            if mapping is not None:
                try:
                    mapping = json.loads(mapping)
                except json.JSONDecodeError as exc:
                    raise ImportError_(f"--mapping n'est pas un JSON valide ({exc.msg}).") from exc
                if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                    raise ImportError_('--mapping attend un objet JSON {"champ": "colonne"}.')
            else:
                mapping = guess_mapping(header, import_source.mapping)
            key_column = key if key is not None else guess_key_column(header, import_source.key_column)
            check_mapping(header, mapping, key_column)
            import_source_remember(source=import_source, mapping=mapping, key_column=key_column)
            if verbose:
                described = ", ".join(
                    f"{CARD_FIELDS[name]} ← « {column} »" for name, column in mapping.items()
                )
                self.stdout.write(f"Correspondance : {described}.")
                if key_column:
                    self.stdout.write(f"Identifiant des lignes : « {key_column} ».")
            progress = progress_printer(self.stderr, total=table_count_rows(path), verbose=verbose)
            run = table_import(
                path=path,
                source=import_source,
                mapping=mapping,
                key_column=key_column,
                dry_run=options["dry_run"],
                progress=progress,
            )
        except ImportError_ as exc:
            raise CommandError(f"{exc} Aucune donnée n'a été modifiée.") from exc
        if verbose and progress.interactive:
            self.stderr.write("")
        for line in report_lines(run):
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Import n° {run.pk} terminé."))
