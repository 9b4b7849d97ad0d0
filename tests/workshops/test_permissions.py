"""The permission matrix: (role) x (action) x (phase), through the access functions the views use."""

import pytest
from django.contrib.auth.models import AnonymousUser

from essaim.workshops import services
from essaim.workshops.access import Visitor, consultation_can
from essaim.workshops.models import Phase
from tests.factories import AdminFactory, FacilitatorFactory, UserFactory
from tests.workshops.conftest import make_consultation

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "room_code", "member", "owner", "other_facilitator", "admin")
PHASES = (Phase.PREPARATION, Phase.OPEN, Phase.CLOSED, Phase.PUBLISHED)
PREP, OPEN, CLOSED, PUBLISHED = PHASES
VISIBLE = {OPEN, CLOSED, PUBLISHED}
PARTICIPANTS = {"room_code", "member", "owner", "other_facilitator", "admin"}
MANAGERS = {"owner", "admin"}
EVERYONE = set(ROLES)


def allowed(roles, phases):
    return {(role, phase) for role in roles for phase in phases}


# What each action allows, written out independently of workshops/rules.py.
EXPECTED = {
    "view": allowed(EVERYONE, VISIBLE) | allowed(MANAGERS, {PREP}),
    "vote": allowed(PARTICIPANTS, {OPEN}),
    "comment": allowed(PARTICIPANTS, {OPEN}),
    "propose_item": allowed(PARTICIPANTS, {OPEN}),
    "manage_items": allowed(MANAGERS, {PREP, OPEN}),
    "manage": allowed(MANAGERS, set(PHASES)),
    "enter_paper": allowed(MANAGERS, {OPEN}),
    "moderate": allowed(MANAGERS, {OPEN, CLOSED}),
    "manage_groups": allowed(MANAGERS, {OPEN, CLOSED}),
    "change_phase": allowed(MANAGERS, {PREP, OPEN, CLOSED}),
    "view_synthesis": allowed(EVERYONE, {PUBLISHED}) | allowed(MANAGERS, {OPEN, CLOSED}),
}


def build(phase):
    """A consultation in ``phase`` (moved there through the services) with one room code, and the users."""
    owner = FacilitatorFactory()
    consultation = make_consultation(owner=owner)
    code = services.room_codes_generate(consultation=consultation, count=1, actor=owner)[0]
    for step in PHASES[1 : PHASES.index(phase) + 1]:
        services.consultation_set_phase(consultation=consultation, phase=step, actor=owner)
    consultation.refresh_from_db()
    users = {
        "member": UserFactory(),
        "owner": owner,
        "other_facilitator": FacilitatorFactory(),
        "admin": AdminFactory(),
    }
    return consultation, code, users


def visitor(role, code, users):
    if role == "anonymous":
        return Visitor(user=AnonymousUser())
    if role == "room_code":
        return Visitor(user=AnonymousUser(), participant=code)
    return Visitor(user=users[role])


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_matrix(role, phase):
    consultation, code, users = build(phase)
    assert consultation.phase == phase
    who = visitor(role, code, users)

    outcome = {action: consultation_can(who, action, consultation) for action in EXPECTED}

    assert outcome == {action: (role, phase) in EXPECTED[action] for action in EXPECTED}


def test_room_code_of_another_consultation_gives_nothing():
    consultation, _, _ = build(Phase.OPEN)
    _, other_code, _ = build(Phase.OPEN)
    assert not consultation_can(Visitor(user=AnonymousUser(), participant=other_code), "vote", consultation)


def test_unknown_action_is_denied():
    consultation, _, users = build(Phase.OPEN)
    assert not consultation_can(Visitor(user=users["admin"]), "delete_everything", consultation)


def test_deactivated_owner_loses_management():
    consultation = make_consultation(phase=Phase.OPEN)
    owner = consultation.owner
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert not consultation_can(Visitor(user=owner), "change_phase", consultation)
