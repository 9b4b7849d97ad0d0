"""Who may see and change offers and needs. Default deny: anything not allowed here is refused.

Views answer 404 (not 403) for a listing the user may not see.
"""

from essaim.actors.access import structure_can_view
from essaim.actors.models import Structure
from essaim.actors.rules import is_facilitator, is_structure_member
from essaim.exchange.models import Listing, ListingStatus


def listing_can_manage(user, structure: Structure | None) -> bool:
    """Create and edit the listings of ``structure``: its members and the facilitators."""
    if structure is None:
        return False
    return bool(is_facilitator.test(user)) or bool(is_structure_member.test(user, structure))


def listing_can_view(user, listing: Listing | None) -> bool:
    """Published listings of a visible structure are public; the others are seen by the structure's members
    and facilitators."""
    if listing is None:
        return False
    if listing.status == ListingStatus.PUBLISHED and structure_can_view(user, listing.structure):
        return True
    return listing_can_manage(user, listing.structure)


def listing_can_edit(user, listing: Listing | None) -> bool:
    """Members of the listing's structure and facilitators."""
    if listing is None:
        return False
    return listing_can_manage(user, listing.structure)


def listing_can_see_suggestions(user, listing: Listing | None) -> bool:
    """Matching suggestions are working data for the listing's structure and the facilitators."""
    return listing_can_edit(user, listing)
