"""The « Entrer en relation » panel of a listing's page: contact button, the listing's match records, the
facilitator's introduction link and, once the listing is closed, the question of what came of it."""

from django import template
from django.db.models import Q

from essaim.actors.models import Membership
from essaim.exchange.access import (
    contact_structures_for,
    listing_can_edit,
    listing_can_introduce,
    listing_can_record_outcome,
)
from essaim.exchange.models import ListingStatus, Match, Outcome

register = template.Library()


@register.inclusion_tag("exchange/contact_panel.html", takes_context=True)
def listing_contact_panel(context, listing):
    request = context.get("request")
    user = getattr(request, "user", None)
    authenticated = bool(getattr(user, "is_authenticated", False))
    can_edit = authenticated and listing_can_edit(user, listing)
    contact_structures = contact_structures_for(user, listing) if authenticated else []
    matches = []
    if can_edit:
        matches = list(
            Match.objects.filter(Q(listing=listing) | Q(counterpart_listing=listing))
            .exclude(status="suggested")
            .select_related("listing_structure", "counterpart_structure")
            .order_by("-updated_at", "-pk")[:20]
        )
    elif contact_structures:
        own = list(Membership.objects.filter(user=user).values_list("structure_id", flat=True))
        matches = list(
            Match.objects.open()
            .filter(
                Q(listing=listing, counterpart_structure_id__in=own)
                | Q(counterpart_listing=listing, listing_structure_id__in=own)
            )
            .select_related("listing_structure", "counterpart_structure")
        )
    outcome_form = None
    outcome = None
    if authenticated and listing_can_record_outcome(user, listing):
        from essaim.www.exchange.contacts import OutcomeForm

        outcome = Outcome.objects.filter(listing=listing).first()
        if outcome is None:
            outcome_form = OutcomeForm(listing=listing)
    return {
        "listing": listing,
        "authenticated": authenticated,
        "is_published": listing.status == ListingStatus.PUBLISHED,
        "contact_structures": contact_structures,
        "matches": matches,
        "can_edit": can_edit,
        "can_introduce": authenticated and listing_can_introduce(user, listing),
        "outcome_form": outcome_form,
        "outcome": outcome,
        "login_next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }
