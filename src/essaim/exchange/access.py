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
    """Published listings of a visible structure are public unless hidden; the others are seen by the
    structure's members and facilitators."""
    if listing is None:
        return False
    # A listing hidden by a facilitator (exchange.moderation) is no longer public.
    public = listing.status == ListingStatus.PUBLISHED and listing.hidden_at is None
    if public and structure_can_view(user, listing.structure):
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


# --- Group purchases and shared jobs ------------------------------------------------------------------------


def group_purchase_can_manage(user, listing: Listing | None) -> bool:
    """The initiator's side of a group purchase (order per structure, exports, closing): the members of the
    listing's structure and the facilitators."""
    return listing_can_edit(user, listing)


def group_purchase_can_join_for(user, structure: Structure | None) -> bool:
    """Join, change or withdraw the participation of ``structure``: its members and the facilitators."""
    return listing_can_manage(user, structure)


def shared_job_groups_can_browse(user) -> bool:
    """The page of every suggested shared post: facilitators only (members see theirs on their listing)."""
    return bool(is_facilitator.test(user))


# --- Putting people in touch and outcomes (see exchange.contacts) ------------------------------------------


def contact_structures_for(user, listing: Listing | None) -> list[Structure]:
    """The structures in whose name ``user`` may write to ``listing``'s structure (« Entrer en relation »):
    their own structures other than the listing's, for a published listing they can see. Empty: may not."""
    if listing is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if listing.status != ListingStatus.PUBLISHED or not listing_can_view(user, listing):
        return []
    return list(
        Structure.objects.filter(memberships__user=user).exclude(pk=listing.structure_id).order_by("name")
    )


def match_can_view(user, match) -> bool:
    """A conversation: the members of both structures and the facilitators (everyone else: 404)."""
    if match is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if is_facilitator.test(user):
        return True
    from essaim.actors.models import Membership

    return Membership.objects.filter(user=user, structure_id__in=match.structure_ids()).exists()


def match_can_act(user, match) -> bool:
    """Write in a conversation and move the match's status: the same people as those who see it."""
    return match_can_view(user, match)


def listing_can_introduce(user, listing: Listing | None) -> bool:
    """Facilitators introduce the structures of two published listings to each other."""
    return bool(
        listing is not None and listing.status == ListingStatus.PUBLISHED and is_facilitator.test(user)
    )


def listing_can_record_outcome(user, listing: Listing | None) -> bool:
    """What came of a closed listing: told by its structure's members (and the facilitators)."""
    return bool(
        listing is not None
        and listing.status in (ListingStatus.FULFILLED, ListingStatus.WITHDRAWN, ListingStatus.EXPIRED)
        and listing_can_edit(user, listing)
    )


def exchange_stats_can_view(user) -> bool:
    """The statistics of offers, needs and their outcomes per territory: facilitators."""
    return bool(is_facilitator.test(user))
