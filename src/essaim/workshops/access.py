"""Who may see and do what in the workshops. Default deny; views answer 404 for what one may not see.

A visitor is the request's user plus, for anonymous people, the participant their room code gave them (kept in
the session, per consultation). Decisions come from the phase-aware predicates of ``workshops.rules``.
"""

from dataclasses import dataclass

from django.http import Http404

from essaim.core.access import NOT_FOUND_MESSAGE, deny_unless
from essaim.workshops.models import Consultation, Participant
from essaim.workshops.rules import ACTIONS, group_rules, workshop_rules

SESSION_KEY = "workshops_participants"


@dataclass
class Visitor:
    user: object
    participant: Participant | None = None

    @property
    def is_authenticated(self) -> bool:
        return bool(getattr(self.user, "is_authenticated", False))


def consultation_can(visitor: Visitor, action: str, consultation: Consultation) -> bool:
    """True when ``visitor`` may do ``action`` (one of rules.ACTIONS) on ``consultation``; False otherwise."""
    if action not in ACTIONS or consultation is None:
        return False
    return bool(workshop_rules.test_rule(action, visitor, consultation))


def permissions_for(visitor: Visitor, consultation: Consultation) -> dict[str, bool]:
    """Every action's outcome, for templates (``perms.vote``...)."""
    return {action: consultation_can(visitor, action, consultation) for action in ACTIONS}


def session_participant(request, consultation: Consultation) -> Participant | None:
    """The room-code participant this browser holds for ``consultation``, if any."""
    participant_id = request.session.get(SESSION_KEY, {}).get(str(consultation.pk))
    if participant_id is None:
        return None
    return Participant.objects.filter(pk=participant_id, consultation=consultation, user__isnull=True).first()


def remember_participant(request, participant: Participant) -> None:
    held = dict(request.session.get(SESSION_KEY, {}))
    held[str(participant.consultation_id)] = participant.pk
    request.session[SESSION_KEY] = held


def visitor_for(request, consultation: Consultation) -> Visitor:
    """The visitor of ``request``: a logged-in user's existing participant record, else the room-code one."""
    user = request.user
    participant = None
    if getattr(user, "is_authenticated", False):
        participant = Participant.objects.filter(consultation=consultation, user=user).first()
    else:
        participant = session_participant(request, consultation)
    return Visitor(user=user, participant=participant)


def consultation_for(request, slug: str, action: str = "view") -> tuple[Consultation, Visitor]:
    """Fetch the consultation at ``slug`` for ``request`` if its visitor may do ``action``.

    Raises Http404 when it does not exist or when the visitor may not see it; for an action the visitor may
    not do on a consultation they can see, also 404 (default deny, nothing revealed).
    """
    consultation = Consultation.objects.select_related("owner").filter(slug=slug).first()
    if consultation is None:
        raise Http404(NOT_FOUND_MESSAGE)
    visitor = visitor_for(request, consultation)
    deny_unless(consultation_can(visitor, "view", consultation))
    deny_unless(consultation_can(visitor, action, consultation))
    return consultation, visitor


def can_create_consultation(user) -> bool:
    """Facilitators (and platform administrators) run consultations."""
    return bool(getattr(user, "is_authenticated", False) and user.is_facilitator)


def group_can_report(visitor: Visitor, group) -> bool:
    """The consultation's managers (while groups may change) and the group's own rapporteur."""
    if group is None:
        return False
    if consultation_can(visitor, "manage_groups", group.consultation):
        return True
    return bool(group_rules.test_rule("report", visitor, group))
