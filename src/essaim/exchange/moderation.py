"""Abuse handling of offers and needs: reports ("Signaler") and hiding by a facilitator.

A hidden listing keeps its status (it still counts in statistics) but leaves every public page: the list,
the map, alerts and its own page, which only its structure's members and the facilitators still see, with
a notice. Every action is in the audit log.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from essaim.actors.rules import is_facilitator, is_structure_member
from essaim.core.audit import log_action
from essaim.exchange.models import Listing, ListingReport, ReportReason, ReportStatus

REASON_MAX_LENGTH = 2000


def can_moderate(user) -> bool:
    """Facilitators see the reports and hide or show listings."""
    return bool(is_facilitator.test(user))


def can_report(user, listing: Listing | None) -> bool:
    """Any signed-in person may report a listing they can see, except the members of its structure."""
    if listing is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return not is_structure_member.test(user, listing.structure)


@transaction.atomic
def report_create(*, listing: Listing, reporter, reason: str, text: str = "") -> ListingReport:
    """Record ``reporter``'s report of ``listing``. Raises ValidationError (French messages) on a bad
    reason, a text too long, or a second open report of the same listing by the same person."""
    report = ListingReport(listing=listing, reporter=reporter, reason=reason, text=text.strip())
    if reason not in ReportReason.values:
        raise ValidationError({"reason": "Choisissez un motif de signalement."})
    if reason == ReportReason.OTHER and not report.text:
        raise ValidationError({"text": "Précisez la raison du signalement."})
    if len(report.text) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"text": f"Les précisions ne doivent pas dépasser {REASON_MAX_LENGTH} caractères."}
        )
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        raise ValidationError(
            "Vous avez déjà signalé cette annonce ; les animateur·rices vont l'examiner."
        ) from None
    log_action(
        actor=reporter,
        verb="exchange.listing.reported",
        obj=listing,
        data={"report": report.pk, "reason": reason},
    )
    return report


def _resolve_open(*, listing: Listing, actor, resolution: str, now) -> int:
    return (
        ListingReport.objects.open()
        .filter(listing=listing)
        .update(status=ReportStatus.RESOLVED, resolved_at=now, resolved_by=actor, resolution=resolution)
    )


@transaction.atomic
def listing_hide(*, listing: Listing, actor, reason: str) -> Listing:
    """Hide ``listing`` from the public with a reason shown to its structure; its open reports are resolved.
    Raises ValidationError without a reason or when it is already hidden."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Indiquez le motif du masquage : il sera montré à la structure."})
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.hidden_at is not None:
        raise ValidationError("Cette annonce est déjà masquée.")
    now = timezone.now()
    listing.hidden_at, listing.hidden_reason, listing.hidden_by = now, reason, actor
    listing.save(update_fields=["hidden_at", "hidden_reason", "hidden_by", "updated_at"])
    resolved = _resolve_open(listing=listing, actor=actor, resolution=f"Annonce masquée : {reason}", now=now)
    log_action(
        actor=actor, verb="exchange.listing.hidden", obj=listing, data={"reason": reason, "reports": resolved}
    )
    return listing


@transaction.atomic
def listing_unhide(*, listing: Listing, actor) -> Listing:
    """Show a hidden listing again. Raises ValidationError when it is not hidden."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.hidden_at is None:
        raise ValidationError("Cette annonce n'est pas masquée.")
    old_reason = listing.hidden_reason
    listing.hidden_at, listing.hidden_reason, listing.hidden_by = None, "", None
    listing.save(update_fields=["hidden_at", "hidden_reason", "hidden_by", "updated_at"])
    log_action(
        actor=actor, verb="exchange.listing.unhidden", obj=listing, data={"previous_reason": old_reason}
    )
    return listing


@transaction.atomic
def report_resolve(*, report: ListingReport, actor, resolution: str = "") -> ListingReport:
    """Close a report without hiding the listing (e.g. unfounded). Raises ValidationError when it is
    already closed."""
    report = ListingReport.objects.select_for_update().get(pk=report.pk)
    if report.status != ReportStatus.OPEN:
        raise ValidationError("Ce signalement est déjà traité.")
    report.status = ReportStatus.RESOLVED
    report.resolved_at = timezone.now()
    report.resolved_by = actor
    report.resolution = resolution.strip() or "Signalement classé sans suite."
    report.save(update_fields=["status", "resolved_at", "resolved_by", "resolution"])
    log_action(
        actor=actor,
        verb="exchange.report.resolved",
        obj=report.listing,
        data={"report": report.pk, "resolution": report.resolution},
    )
    return report
