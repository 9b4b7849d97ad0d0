"""The offers and needs shown on a structure's card."""

from django import template

from essaim.exchange.access import listing_can_manage
from essaim.exchange.models import Listing

register = template.Library()


@register.inclusion_tag("exchange/_structure_listings.html", takes_context=True)
def structure_listings(context, structure):
    """The structure's listed offers and needs, and the publishing link for its members and facilitators."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "structure": structure,
        "listings": list(Listing.objects.listed().of_structure(structure).order_by("-published_at", "-pk")),
        "can_publish": listing_can_manage(user, structure) if user is not None else False,
    }
