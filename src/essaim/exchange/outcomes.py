"""What came of closed listings, and the statistics of a territory built on them."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum

from essaim.actors.models import Structure
from essaim.core.audit import log_action
from essaim.exchange.models import (
    Kind,
    Listing,
    ListingStatus,
    Match,
    MatchStatus,
    Outcome,
    OutcomeKind,
)

CLOSED_STATUSES = (ListingStatus.FULFILLED, ListingStatus.WITHDRAWN, ListingStatus.EXPIRED)


def outcome_counterparts(listing: Listing):
    """Structures the poster may name as partner: those of the listing's match records, by name."""
    ids = set(Match.objects.filter(listing=listing).values_list("counterpart_structure_id", flat=True))
    ids |= set(
        Match.objects.filter(counterpart_listing=listing).values_list("listing_structure_id", flat=True)
    )
    return Structure.objects.filter(pk__in=ids).exclude(pk=listing.structure_id).order_by("name")


@transaction.atomic
def outcome_record(
    *,
    listing: Listing,
    actor,
    kind: str,
    amount_euros: int | None = None,
    hours: int | None = None,
    counterpart_structure: Structure | None = None,
) -> Outcome:
    """Record (or correct) what came of a closed listing. Raises ValidationError (French) when the listing
    is still open, the result unknown, figures given with "nothing", or the partner is the listing's
    structure."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status not in CLOSED_STATUSES:
        raise ValidationError("Le résultat d'une annonce se renseigne une fois l'annonce close.")
    if counterpart_structure is not None and counterpart_structure.pk == listing.structure_id:
        raise ValidationError({"counterpart_structure": "Choisissez une autre structure que la vôtre."})
    outcome = Outcome.objects.filter(listing=listing).first() or Outcome(listing=listing)
    created = outcome.pk is None
    outcome.kind = kind
    outcome.amount_euros = amount_euros
    outcome.hours = hours
    outcome.counterpart_structure = counterpart_structure
    outcome.recorded_by = actor if getattr(actor, "is_authenticated", False) else None
    outcome.full_clean(exclude=["listing", "recorded_by"])
    outcome.save()
    log_action(
        actor=actor,
        verb="exchange.outcome.recorded" if created else "exchange.outcome.updated",
        obj=listing,
        data={"kind": kind, "amount_euros": amount_euros, "hours": hours},
    )
    return outcome


def outcome_stats(*, perimeter=None) -> dict:
    """Figures of a territory (``perimeter``, or everywhere when None): listings by kind and status (expired
    ones included), match records by status, outcomes by result with their summed amounts and hours.

    Every table lists every choice (zero included) in the enum's order."""
    listings = Listing.objects.all()
    matches = Match.objects.all()
    outcomes = Outcome.objects.all()
    if perimeter is not None:
        listings = listings.filter(structure__commune__perimeter_links__perimeter=perimeter)
        matches = matches.filter(listing_structure__commune__perimeter_links__perimeter=perimeter)
        outcomes = outcomes.filter(listing__structure__commune__perimeter_links__perimeter=perimeter)

    by_kind_status = {
        (row["kind"], row["status"]): row["n"]
        for row in listings.values("kind", "status").annotate(n=Count("pk")).order_by()
    }
    statuses = list(ListingStatus)
    listing_rows = [
        {
            "label": kind.label,
            "counts": [by_kind_status.get((kind.value, status.value), 0) for status in statuses],
            "total": sum(by_kind_status.get((kind.value, status.value), 0) for status in statuses),
        }
        for kind in Kind
    ]
    listing_totals = [sum(row["counts"][i] for row in listing_rows) for i in range(len(statuses))]

    match_counts = {
        row["status"]: row["n"] for row in matches.values("status").annotate(n=Count("pk")).order_by()
    }
    match_rows = [
        {"label": status.label, "count": match_counts.get(status.value, 0)} for status in MatchStatus
    ]

    per_kind = {
        row["kind"]: row
        for row in outcomes.values("kind")
        .annotate(n=Count("pk"), amount=Sum("amount_euros"), hours=Sum("hours"))
        .order_by()
    }
    outcome_rows = [
        {
            "label": kind.label,
            "count": per_kind.get(kind.value, {}).get("n", 0),
            "amount": per_kind.get(kind.value, {}).get("amount") or 0,
            "hours": per_kind.get(kind.value, {}).get("hours") or 0,
        }
        for kind in OutcomeKind
    ]
    return {
        "statuses": [status.label for status in statuses],
        "listing_rows": listing_rows,
        "listing_totals": listing_totals,
        "listing_total": sum(listing_totals),
        "match_rows": match_rows,
        "match_total": sum(row["count"] for row in match_rows),
        "outcome_rows": outcome_rows,
        "outcome_total": sum(row["count"] for row in outcome_rows),
        "amount_total": sum(row["amount"] for row in outcome_rows),
        "hours_total": sum(row["hours"] for row in outcome_rows),
    }
