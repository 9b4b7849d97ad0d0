"""Template tags for registration data: the public participant count of an event, the answers' tally."""

from django import template

from essaim.events.models import RegistrationStatus
from essaim.events.questions import question_tallies as build_tallies

register = template.Library()


@register.simple_tag
def public_participants_count(event) -> int:
    """How many confirmed participants of ``event`` agreed to appear on its public list."""
    return event.registrations.filter(
        status=RegistrationStatus.CONFIRMED, public_listing=True, anonymised_at__isnull=True
    ).count()


@register.simple_tag
def question_tallies(event) -> list:
    """The per-answer counts of ``event``'s choice and yes/no questions (see ``events.questions``)."""
    return build_tallies(event)
