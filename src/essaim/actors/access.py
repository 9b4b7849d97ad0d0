"""Who may see and change structures. Default deny: anything not allowed here is refused.

Views answer 404 (not 403) for a structure the user may not see, so that unpublished cards stay hidden.
"""

from essaim.actors.models import Structure
from essaim.actors.rules import can_edit_structure, can_view_structure, is_facilitator


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
