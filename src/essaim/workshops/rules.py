"""django-rules predicates of the workshops: what a visitor may do depends on the phase and their role.

The "user" argument of these predicates is a ``Visitor`` (see ``workshops.access``): the logged-in user (or
AnonymousUser) plus the participant record a room code gave them. The object is the Consultation.
"""

import rules

from essaim.workshops.models import Phase


def _user(visitor):
    return getattr(visitor, "user", None)


@rules.predicate
def is_manager(visitor, consultation) -> bool:
    """The consultation's owner facilitator, or a platform administrator (active accounts only)."""
    user = _user(visitor)
    if consultation is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_platform_admin:
        return True
    return user.is_facilitator and consultation.owner_id == user.pk


@rules.predicate
def can_take_part(visitor, consultation) -> bool:
    """A logged-in account, or a visitor holding a room code of this very consultation."""
    user = _user(visitor)
    if getattr(user, "is_authenticated", False) and user.is_active:
        return True
    participant = getattr(visitor, "participant", None)
    return (
        participant is not None
        and consultation is not None
        and participant.consultation_id == consultation.pk
    )


def _phase_is(*phases):
    @rules.predicate
    def predicate(visitor, consultation) -> bool:
        return consultation is not None and consultation.phase in phases

    predicate.name = "phase_in_" + "_".join(phases)
    return predicate


is_preparation = _phase_is(Phase.PREPARATION)
is_open = _phase_is(Phase.OPEN)
is_closed = _phase_is(Phase.CLOSED)
is_published = _phase_is(Phase.PUBLISHED)

# Actions: the matrix test in tests/workshops/test_permissions.py spells out the expected outcome of each.
workshop_rules = rules.RuleSet()
workshop_rules.add_rule("view", ~is_preparation | is_manager)
workshop_rules.add_rule("vote", is_open & can_take_part)
workshop_rules.add_rule("comment", is_open & can_take_part)
workshop_rules.add_rule("propose_item", is_open & can_take_part)
workshop_rules.add_rule("manage_items", (is_preparation | is_open) & is_manager)
workshop_rules.add_rule("enter_paper", is_open & is_manager)
workshop_rules.add_rule("moderate", (is_open | is_closed) & is_manager)
workshop_rules.add_rule("manage_groups", (is_open | is_closed) & is_manager)
workshop_rules.add_rule("change_phase", ~is_published & is_manager)
workshop_rules.add_rule("view_synthesis", is_published | ((is_open | is_closed) & is_manager))
workshop_rules.add_rule("manage", is_manager)

ACTIONS = (
    "view",
    "vote",
    "comment",
    "propose_item",
    "manage_items",
    "enter_paper",
    "moderate",
    "manage_groups",
    "change_phase",
    "view_synthesis",
    "manage",
)


@rules.predicate
def is_group_rapporteur(visitor, group) -> bool:
    """``visitor`` is the rapporteur of working ``group`` (through their participant record)."""
    participant = getattr(visitor, "participant", None)
    return group is not None and participant is not None and group.rapporteur_id == participant.pk


@rules.predicate
def group_is_working(visitor, group) -> bool:
    return group is not None and group.consultation.phase in (Phase.OPEN, Phase.CLOSED)


# The facilitator or the group's rapporteur type its action proposals while groups work.
group_rules = rules.RuleSet()
group_rules.add_rule("report", group_is_working & is_group_rapporteur)
