"""essaim sirene_import PATH [--etablissements PATH] [--perimeter SLUG] [--ess-only] [--active-only]
[--dry-run]: import the SIRENE stock files."""

import sys

from django.core.management.base import BaseCommand, CommandError

from essaim.actors.importers.sirene import SireneImportError, sirene_import


def _number(value: float) -> str:
    # French digit grouping with a narrow no-break space.
    return f"{value:,.0f}".replace(",", "\u202f")


class Command(BaseCommand):
    help = (
        "Importe le stock SIRENE des unités légales (StockUniteLegale, CSV ou zip) et, avec "
        "--etablissements, celui des établissements. Relancer l'import met à jour les fiches "
        "sans créer de doublon."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Fichier StockUniteLegale (.csv ou .zip).")
        parser.add_argument(
            "--etablissements", help="Fichier StockEtablissement (.csv ou .zip), géocodé ou non."
        )
        parser.add_argument(
            "--perimeter",
            default="",
            help="Identifiant d'un périmètre : seules les structures dont le siège "
            "y est situé sont importées (demande --etablissements).",
        )
        parser.add_argument(
            "--ess-only",
            action="store_true",
            help="Seulement les structures de l'ESS (statut ou indicateur O).",
        )
        parser.add_argument("--active-only", action="store_true", help="Seulement les unités actives (A).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Tout vérifier et compter sans rien écrire."
        )

    def handle(self, *args, path, etablissements=None, perimeter="", **options):
        verbose = options["verbosity"] > 0
        interactive = sys.stderr.isatty()

        def progress(rows: int, seconds: float) -> None:
            if not verbose:
                return
            rate = rows / seconds if seconds > 0 else 0
            message = f"{_number(rows)} lignes lues — {_number(rate)} lignes/s"
            self.stderr.write(f"\r{message}" if interactive else message, ending="" if interactive else "\n")

        try:
            run = sirene_import(
                path=path,
                establishments_path=etablissements,
                perimeter=perimeter,
                ess_only=options["ess_only"],
                active_only=options["active_only"],
                dry_run=options["dry_run"],
                progress=progress,
            )
        except SireneImportError as exc:
            raise CommandError(f"{exc} Aucune donnée n'a été modifiée.") from exc
        if verbose and interactive:
            self.stderr.write("")
        seconds = (run.finished_at - run.started_at).total_seconds()
        prefix = "Essai à blanc (rien n'a été écrit). " if run.dry_run else ""
        self.stdout.write(
            f"{prefix}Unités légales : {run.rows_read} lues, {run.created} créées, "
            f"{run.updated} mises à jour, {run.unchanged} inchangées, {run.skipped} écartées, "
            f"{run.rejected} rejetées, "
            f"{run.pending_changes} modification(s) à relire."
        )
        if etablissements:
            self.stdout.write(
                f"Établissements : {run.establishments_created} créés, "
                f"{run.establishments_updated} mis à jour."
            )
        for rejection in run.rejections[:20]:
            self.stdout.write(f"  ligne {rejection['line']} : {rejection['reason']}")
        if run.rejected > 20:
            self.stdout.write(f"  … et {run.rejected - 20} autre(s) (voir le rapport d'import n° {run.pk}).")
        self.stdout.write(self.style.SUCCESS(f"Import n° {run.pk} terminé en {seconds:.1f} s."))
