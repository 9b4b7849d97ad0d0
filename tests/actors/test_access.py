import pytest
from django.contrib.auth.models import AnonymousUser

from essaim.actors.access import structure_can_edit, structure_can_moderate, structure_can_view
from essaim.actors.models import Membership, MembershipRole, Status
from tests.factories import AdminFactory, FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "member", "manager", "other_member", "plain_user", "facilitator", "admin"]


def persona(name, structure):
    if name == "anonymous":
        return AnonymousUser()
    if name in {"member", "manager"}:
        user = UserFactory()
        role = MembershipRole.MANAGER if name == "manager" else MembershipRole.MEMBER
        Membership.objects.create(user=user, structure=structure, role=role)
        return user
    if name == "other_member":
        user = UserFactory()
        Membership.objects.create(user=user, structure=StructureFactory())
        return user
    if name == "plain_user":
        return UserFactory()
    return FacilitatorFactory() if name == "facilitator" else AdminFactory()


SEES_EVERYTHING = {"member", "manager", "facilitator", "admin"}


@pytest.mark.parametrize("status", Status.values)
@pytest.mark.parametrize("name", PERSONAS)
def test_view_matrix(name, status):
    structure = StructureFactory(status=status)
    user = persona(name, structure)
    expected = status == Status.PUBLISHED or name in SEES_EVERYTHING
    assert structure_can_view(user, structure) is expected
    assert user.has_perm("actors.view_structure", structure) is expected


@pytest.mark.parametrize("status", Status.values)
@pytest.mark.parametrize("name", PERSONAS)
def test_edit_matrix(name, status):
    structure = StructureFactory(status=status)
    user = persona(name, structure)
    expected = name in SEES_EVERYTHING
    assert structure_can_edit(user, structure) is expected
    assert user.has_perm("actors.change_structure", structure) is expected


def test_deactivated_member_and_facilitator_lose_their_rights():
    structure = StructureFactory(status=Status.DRAFT)
    member, facilitator = UserFactory(), FacilitatorFactory()
    Membership.objects.create(user=member, structure=structure)
    member.is_active = facilitator.is_active = False
    assert not structure_can_edit(member, structure)
    assert not structure_can_view(member, structure)
    assert not structure_can_edit(facilitator, structure)


def test_only_facilitators_moderate():
    assert structure_can_moderate(FacilitatorFactory())
    assert structure_can_moderate(AdminFactory())
    assert not structure_can_moderate(UserFactory())
    assert not structure_can_moderate(AnonymousUser())


@pytest.mark.parametrize("user_factory", [UserFactory, FacilitatorFactory, AdminFactory])
def test_nothing_is_allowed_on_no_structure(user_factory):
    user = user_factory()
    assert not structure_can_view(user, None)
    assert not structure_can_edit(user, None)
