"""Who may see and change structures. Default deny: anything not allowed here is refused.

Views answer 404 (not 403) for a structure the user may not see, so that unpublished cards stay hidden.
"""

from essaim.actors.models import Status, Structure
from essaim.actors.rules import (
    can_edit_structure,
    can_see_history,
    can_view_structure,
    is_facilitator,
    is_structure_member,
)


def structure_can_view(user, structure: Structure) -> bool:
    """Published structures are public; drafts, pending and archived cards are seen by facilitators and
    by the structure's own members only."""
    if structure is None:
        return False
    return bool(can_view_structure.test(user, structure))


def structure_can_edit(user, structure: Structure) -> bool:
    """Facilitators (and administrators) edit every structure; members edit their own structure."""
    if structure is None:
        return False
    return bool(can_edit_structure.test(user, structure))


def structure_can_see_qualification(user, structure: Structure) -> bool:
    """The qualification rule, provenance and pending changes are working data for facilitators."""
    if structure is None:
        return False
    return bool(is_facilitator.test(user))


def structure_can_moderate(user) -> bool:
    """Publishing, archiving and creating cards for others is the facilitators' job."""
    return bool(is_facilitator.test(user))


def can_manage_duplicates(user) -> bool:
    """Finding, dismissing and merging duplicate cards is the facilitators' (and administrators') job."""
    return bool(is_facilitator.test(user))


# -- Self-service and moderation -----------------------------------------------------------------------------


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def structure_can_claim(user, structure: Structure) -> bool:
    """A signed-in person who can see the card, is not yet a member, and the card is still alive."""
    if structure is None or not _active(user):
        return False
    if structure.status == Status.ARCHIVED or structure.merged_into_id is not None:
        return False
    return structure_can_view(user, structure) and not bool(is_structure_member.test(user, structure))


def structure_can_see_history(user, structure: Structure) -> bool:
    """The card's history: facilitators and the structure's own members."""
    if structure is None:
        return False
    return bool(can_see_history.test(user, structure))


def structure_can_restore(user, structure: Structure) -> bool:
    """Restoring an earlier version, archiving and bringing back cards: facilitators only."""
    if structure is None:
        return False
    return bool(is_facilitator.test(user))


structure_can_archive = structure_can_restore


def structure_can_create(user) -> bool:
    """Any signed-in person may propose a new card (facilitators publish it); facilitators create directly."""
    return _active(user)


def structure_can_change_card(user, structure: Structure) -> bool:
    """The edit form: facilitators on any card, members on their card unless it is archived."""
    if not structure_can_edit(user, structure):
        return False
    return bool(is_facilitator.test(user)) or structure.status != Status.ARCHIVED


# -- Quality and taxonomies ----------------------------------------------------------------------------------


def can_see_quality(user) -> bool:
    """The quality score, missing fields and stale cards are working data for facilitators."""
    return bool(is_facilitator.test(user))


def can_manage_taxonomy(user) -> bool:
    """Creating, renaming, merging and archiving themes and labels: facilitators (and administrators)."""
    return bool(is_facilitator.test(user))


# -- Imports -------------------------------------------------------------------------------------------------


def can_import(user) -> bool:
    """Uploading files, mapping their columns, running imports and reading their reports: facilitators (and
    administrators) only."""
    return bool(is_facilitator.test(user))
