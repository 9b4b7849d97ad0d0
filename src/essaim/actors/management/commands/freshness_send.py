"""essaim freshness_send [--dry-run] [--limit N]: send one batch of "still accurate?" reminders now."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from essaim.actors.freshness import BATCH_SIZE, freshness_send


class Command(BaseCommand):
    help = (
        "Envoie les rappels annuels d'actualisation aux structures dont la fiche n'a pas été vérifiée "
        "depuis 11 mois (un lot ; la tâche quotidienne fait de même)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Lister les fiches concernées sans rien envoyer."
        )
        parser.add_argument(
            "--limit", type=int, default=BATCH_SIZE, help=f"Nombre de fiches au plus (défaut : {BATCH_SIZE})."
        )

    def handle(self, *args, dry_run=False, limit=BATCH_SIZE, **options):
        try:
            run = freshness_send(limit=limit, dry_run=dry_run)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if dry_run:
            self.stdout.write("Essai à blanc (rien n'a été envoyé).")
            for name in run.names:
                self.stdout.write(f"- {name}")
        verb = "seraient rappelées" if dry_run else "rappelées"
        self.stdout.write(
            f"{run.structures} fiche(s) {verb}, {run.emails} courriel(s), "
            f"{run.unreachable} sans destinataire, {run.failed} en erreur."
        )
        if run.failed:
            raise CommandError(f"{run.failed} fiche(s) n'ont pas pu être rappelées : voir le journal.")
