"""The moderation part of a listing's page: the hidden notice, « Signaler », and the facilitators' actions."""

from django import template

from essaim.exchange.access import listing_can_edit
from essaim.exchange.models import ListingReport
from essaim.exchange.moderation import can_moderate, can_report

register = template.Library()


@register.inclusion_tag("exchange/moderation_notice.html", takes_context=True)
def listing_hidden_notice(context, listing):
    """The notice of a hidden listing, for those who still see it (its structure's members, facilitators)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    visible = listing.hidden_at is not None and listing_can_edit(user, listing)
    return {"listing": listing, "can_see_notice": visible}


@register.inclusion_tag("exchange/moderation_listing.html", takes_context=True)
def listing_moderation(context, listing):
    """Report link (others signed in) or hide / show forms (facilitators)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    moderator = can_moderate(user)
    return {
        "listing": listing,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "can_moderate": moderator,
        "can_report": can_report(user, listing),
        "open_reports": ListingReport.objects.open().filter(listing=listing).count() if moderator else 0,
    }
