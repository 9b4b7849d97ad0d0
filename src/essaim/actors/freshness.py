"""Freshness loop: a yearly "is this card still accurate?" email per published structure.

Once a card has not been verified for ``REMINDER_AFTER_MONTHS`` (or was never verified and was created that
long ago), :func:`freshness_send` writes to the structure's members (active accounts), or to the card's
public email when the structure has no active member. The email holds:

- a one-click **"toujours exact"** link: a signed token (``django.core.signing``, salted, expiring after
  ``LINK_MAX_AGE``) naming the reminder; its page shows the card and confirms with a POST button (a GET
  changes nothing: mail scanners prefetch links), which calls ``structure_verify`` with the structure
  itself as source. A link works once (``FreshnessReminder.used_at``);
- a link to edit the card;
- an unsubscribe link (also sent as a ``List-Unsubscribe`` one-click header, RFC 8058).

A structure is never reminded twice within ``RESEND_AFTER_DAYS``; every reminder is recorded, even when
nobody could be written to, so a batch never picks the same unreachable card every day.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from essaim.accounts.services import normalize_email
from essaim.actors.models import (
    FreshnessOptOut,
    FreshnessReminder,
    Membership,
    Source,
    Status,
    Structure,
)
from essaim.actors.quality import months_before
from essaim.actors.services import structure_verify
from essaim.core.audit import log_action
from essaim.core.site import site_url

logger = logging.getLogger(__name__)

REMINDER_AFTER_MONTHS = 11
# A structure that did not answer is written to again after this many days, not before.
RESEND_AFTER_DAYS = 90
LINK_MAX_AGE = datetime.timedelta(days=60)
# Structures reminded per run of the daily task: the mail queue absorbs them without a burst.
BATCH_SIZE = 200
CONFIRM_SALT = "essaim.actors.freshness.confirm"
UNSUBSCRIBE_SALT = "essaim.actors.freshness.unsubscribe"


class FreshnessLinkError(Exception):
    """A freshness link that cannot be used; ``str()`` is a French message, ``code`` says why."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def edit_url(structure: Structure) -> str:
    """The card's edit page when the site has one, else the card itself (path only)."""
    try:
        return reverse("actors:edit", kwargs={"slug": structure.slug})
    except NoReverseMatch:
        return reverse("actors:detail", kwargs={"slug": structure.slug})


# -- Who is due, who is written to ---------------------------------------------------------------------------


def _active_members(structure_ref) -> models.QuerySet:
    return Membership.objects.filter(
        structure=structure_ref, user__is_active=True, user__deactivated_at__isnull=True
    )


def due_structures(*, today: datetime.date | None = None) -> models.QuerySet:
    """Published cards to remind today, oldest verification first.

    Due: not verified for REMINDER_AFTER_MONTHS (or never verified and created that long ago), not
    reminded within RESEND_AFTER_DAYS, and someone to write to (an active member or a public email).
    """
    today = today or timezone.localdate()
    cutoff = months_before(today, REMINDER_AFTER_MONTHS)
    cutoff_start = timezone.make_aware(datetime.datetime.combine(cutoff, datetime.time.min))
    recent = timezone.now() - datetime.timedelta(days=RESEND_AFTER_DAYS)
    return (
        Structure.objects.published()
        .filter(merged_into__isnull=True)
        .filter(
            Q(last_verified_at__lt=cutoff) | Q(last_verified_at__isnull=True, created_at__lt=cutoff_start)
        )
        .filter(~Q(email="") | Exists(_active_members(OuterRef("pk"))))
        .exclude(Exists(FreshnessReminder.objects.filter(structure=OuterRef("pk"), sent_at__gte=recent)))
        .order_by(models.F("last_verified_at").asc(nulls_first=True), "created_at", "pk")
    )


def structure_recipients(structure: Structure) -> list[str]:
    """Addresses to remind: the active members' emails; the card's public email only when the structure has
    no active member. Addresses that unsubscribed are left out. Sorted, without duplicates."""
    members = list(_active_members(structure).values_list("user__email", flat=True))
    candidates = {normalize_email(email) for email in members if email}
    if not members and structure.email:
        candidates = {normalize_email(structure.email)}
    opted_out = set(FreshnessOptOut.objects.filter(email__in=candidates).values_list("email", flat=True))
    return sorted(candidates - opted_out)


# -- Tokens --------------------------------------------------------------------------------------------------


def confirm_token(reminder: FreshnessReminder) -> str:
    """The signed, timestamped token of a reminder's "toujours exact" link."""
    return signing.dumps({"r": reminder.pk}, salt=CONFIRM_SALT)


def unsubscribe_token(email: str) -> str:
    """The signed token of an address's unsubscribe link (no expiry: unsubscribing must always work)."""
    return signing.dumps({"e": normalize_email(email)}, salt=UNSUBSCRIBE_SALT)


def reminder_for_token(token: str, *, lock: bool = False) -> FreshnessReminder:
    """The reminder a "toujours exact" token names, if it can still be used.

    Raises FreshnessLinkError: ``invalid`` (tampered or unknown), ``expired`` (older than LINK_MAX_AGE),
    ``used`` (already used) or ``unavailable`` (the card is no longer published).
    """
    try:
        payload = signing.loads(token, salt=CONFIRM_SALT, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise FreshnessLinkError(
            "Ce lien a expiré. Connectez-vous pour vérifier la fiche, ou attendez le prochain rappel.",
            code="expired",
        ) from None
    except signing.BadSignature:
        raise FreshnessLinkError("Ce lien n'est pas valide.", code="invalid") from None
    reminder_id = payload.get("r") if isinstance(payload, dict) else None
    queryset = FreshnessReminder.objects.select_related("structure", "structure__commune")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    reminder = queryset.filter(pk=reminder_id).first() if isinstance(reminder_id, int) else None
    if reminder is None:
        raise FreshnessLinkError("Ce lien n'est pas valide.", code="invalid")
    if reminder.used_at is not None:
        raise FreshnessLinkError(
            f"Ce lien a déjà servi le {timezone.localtime(reminder.used_at):%d/%m/%Y} : "
            "la fiche a bien été confirmée.",
            code="used",
        )
    structure = reminder.structure
    if structure.status != Status.PUBLISHED or structure.merged_into_id is not None:
        raise FreshnessLinkError("Cette fiche n'est plus publiée dans l'annuaire.", code="unavailable")
    return reminder


def email_for_unsubscribe_token(token: str) -> str:
    """The address an unsubscribe token names. Raises FreshnessLinkError (``invalid``) otherwise."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        raise FreshnessLinkError("Ce lien de désinscription n'est pas valide.", code="invalid") from None
    email = payload.get("e") if isinstance(payload, dict) else None
    if not isinstance(email, str) or "@" not in email:
        raise FreshnessLinkError("Ce lien de désinscription n'est pas valide.", code="invalid")
    return email


# -- Actions -------------------------------------------------------------------------------------------------


@transaction.atomic
def freshness_confirm(*, token: str, actor=None) -> Structure:
    """Use a "toujours exact" link: the card is verified (source: the structure itself) and the link spent.

    ``actor`` is the signed-in person who clicked, or None. Raises FreshnessLinkError when the link cannot
    be used (see :func:`reminder_for_token`); nothing is written then.
    """
    reminder = reminder_for_token(token, lock=True)
    structure = structure_verify(structure=reminder.structure, actor=actor, source=Source.STRUCTURE)
    reminder.used_at = timezone.now()
    reminder.save(update_fields=["used_at"])
    log_action(
        actor=actor,
        verb="actors.freshness.confirmed",
        obj=structure,
        data={"reminder": reminder.pk, "sent_at": reminder.sent_at.isoformat()},
    )
    return structure


@transaction.atomic
def freshness_opt_out(*, email: str) -> bool:
    """Stop the freshness reminders to ``email``; returns False when it was already unsubscribed."""
    email = normalize_email(email)
    try:
        with transaction.atomic():
            FreshnessOptOut.objects.create(email=email)
    except IntegrityError:
        return False
    # The address is personal data: the log keeps the fact, not the address.
    log_action(actor=None, verb="actors.freshness.opted_out", data={})
    return True


def _reminder_message(*, structure: Structure, reminder: FreshnessReminder, email: str) -> EmailMessage:
    base = site_url()
    unsubscribe = base + reverse("actors:freshness_unsubscribe", args=[unsubscribe_token(email)])
    context = {
        "structure": structure,
        "site_name": settings.ESSAIM_SITE_NAME,
        "confirm_url": base + reverse("actors:freshness_confirm", args=[confirm_token(reminder)]),
        "edit_url": base + edit_url(structure),
        "card_url": base + reverse("actors:detail", kwargs={"slug": structure.slug}),
        "unsubscribe_url": unsubscribe,
        "link_days": LINK_MAX_AGE.days,
    }
    subject = render_to_string("actors/freshness/reminder_subject.txt", context).strip()
    body = render_to_string("actors/freshness/reminder_email.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        to=[email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )


@transaction.atomic
def freshness_remind(*, structure: Structure, actor=None) -> FreshnessReminder | None:
    """Write the freshness reminder of one structure now; returns it, or None when the structure was
    reminded within RESEND_AFTER_DAYS (checked under a row lock, so two runs never both send).

    The reminder is recorded even with no recipient left (everybody unsubscribed). Emails are queued in
    this transaction: a rollback sends nothing.
    """
    Structure.objects.select_for_update().filter(pk=structure.pk).values_list("pk").first()
    now = timezone.now()
    recent = now - datetime.timedelta(days=RESEND_AFTER_DAYS)
    if FreshnessReminder.objects.filter(structure=structure, sent_at__gte=recent).exists():
        return None
    recipients = structure_recipients(structure)
    reminder = FreshnessReminder.objects.create(
        structure=structure, sent_at=now, recipient_count=len(recipients)
    )
    for email in recipients:
        _reminder_message(structure=structure, reminder=reminder, email=email).send()
    log_action(
        actor=actor,
        verb="actors.freshness.reminded",
        obj=structure,
        data={"reminder": reminder.pk, "recipients": len(recipients)},
    )
    return reminder


@dataclass
class FreshnessRun:
    """What one batch did (or would do, in a dry run)."""

    dry_run: bool
    structures: int = 0
    emails: int = 0
    unreachable: int = 0
    failed: int = 0
    names: list[str] = field(default_factory=list)


def freshness_send(
    *, limit: int = BATCH_SIZE, dry_run: bool = False, today: datetime.date | None = None, actor=None
) -> FreshnessRun:
    """Remind up to ``limit`` due structures (see :func:`due_structures`), each in its own transaction.

    With ``dry_run``, nothing is written nor sent: the run counts who would be written to. A structure that
    fails (invalid data, database error) is logged and skipped; the others go on.
    """
    if limit < 1:
        raise ValidationError({"limit": "Le nombre de fiches par envoi doit être au moins 1."})
    run = FreshnessRun(dry_run=dry_run)
    for structure in due_structures(today=today)[:limit]:
        if dry_run:
            recipients = structure_recipients(structure)
            run.structures += 1
            run.emails += len(recipients)
            run.unreachable += not recipients
            run.names.append(structure.name)
            continue
        try:
            reminder = freshness_remind(structure=structure, actor=actor)
        except Exception:  # one bad card must not stop the batch
            logger.exception("Rappel d'actualisation impossible pour la structure %s.", structure.pk)
            run.failed += 1
            continue
        if reminder is None:
            continue
        run.structures += 1
        run.emails += reminder.recipient_count
        run.unreachable += not reminder.recipient_count
        run.names.append(structure.name)
    return run
