"""django-rules predicates for events (the decisions live in ``events.access``)."""

import rules

from essaim.actors.models import Membership
from essaim.actors.rules import is_facilitator
from essaim.events.models import ORGANISING_ROLES, EventStatus, Visibility


@rules.predicate
def is_event_organiser(user, event) -> bool:
    """``user`` (active) belongs to a structure that organises or co-organises ``event``."""
    if event is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(
        user=user,
        structure__event_links__event=event,
        structure__event_links__role__in=ORGANISING_ROLES,
    ).exists()


@rules.predicate
def is_event_author(user, event) -> bool:
    return (
        event is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and event.created_by_id == user.pk
    )


@rules.predicate
def is_listed(user, event) -> bool:
    """Published (or cancelled) and public: anyone may see it."""
    return (
        event is not None
        and event.status in (EventStatus.PUBLISHED, EventStatus.CANCELLED)
        and event.visibility == Visibility.PUBLIC
    )


@rules.predicate
def is_listed_for_members(user, event) -> bool:
    """Published members-only event, seen by any signed-in active account."""
    return (
        event is not None
        and event.status in (EventStatus.PUBLISHED, EventStatus.CANCELLED)
        and getattr(user, "is_authenticated", False)
        and user.is_active
    )


can_view_event = is_listed | is_listed_for_members | is_facilitator | is_event_organiser | is_event_author
# Authors edit their proposal until it is published; organisers and facilitators edit at any time.
can_edit_event = is_facilitator | is_event_organiser
can_manage_participants = is_facilitator | is_event_organiser

rules.add_perm("events.view_event", can_view_event)
rules.add_perm("events.change_event", can_edit_event)
rules.add_perm("events.manage_participants", can_manage_participants)
