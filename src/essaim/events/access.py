"""Who may see and change events and their participants. Default deny: anything not allowed here is refused.

Views answer 404 (not 403) for an event the user may not see, and for participant pages of an event the user
does not organise: participants' personal data is for organisers and facilitators only.
"""

from essaim.actors.rules import is_facilitator
from essaim.events.models import Event, EventStatus
from essaim.events.rules import can_edit_event, can_manage_participants, can_view_event, is_event_author


def event_can_view(user, event: Event) -> bool:
    """Public published (or cancelled) events: everyone; members-only ones: signed-in accounts; drafts and
    proposals: facilitators, organisers and the author."""
    if event is None:
        return False
    return bool(can_view_event.test(user, event))


def event_can_edit(user, event: Event) -> bool:
    """Facilitators and members of an organising structure; the author while the proposal is not published."""
    if event is None:
        return False
    if can_edit_event.test(user, event):
        return True
    return bool(is_event_author.test(user, event)) and event.status in (
        EventStatus.DRAFT,
        EventStatus.PENDING,
    )


def event_can_propose(user) -> bool:
    """Any signed-in active account may propose an event (it goes to the facilitators' review)."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def event_can_moderate(user) -> bool:
    """Publishing, cancelling and archiving events, and managing programmes, is the facilitators' job."""
    return bool(is_facilitator.test(user))


def event_can_manage_participants(user, event: Event) -> bool:
    """Participant lists, check-in, attendance sheets and reports: organisers and facilitators only."""
    if event is None:
        return False
    return bool(can_manage_participants.test(user, event))
