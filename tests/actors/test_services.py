import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from essaim.actors import services
from essaim.actors.models import Membership, MembershipRole, Status, Structure
from essaim.core.models import AuditLogEntry
from essaim.territories.models import Commune
from essaim.territories.services import perimeter_save
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_structure_create_makes_a_logged_draft_with_a_unique_slug():
    actor = FacilitatorFactory()
    first = services.structure_create(name="La Rafistolerie", family="association", actor=actor)
    second = services.structure_create(name="La Rafistolerie", family="association", actor=actor)

    assert first.status == Status.DRAFT
    assert (first.slug, second.slug) == ("la-rafistolerie", "la-rafistolerie-2")
    entries = AuditLogEntry.objects.filter(verb="actors.structure.created", actor=actor)
    assert sorted(entries.values_list("object_id", flat=True)) == sorted([str(first.pk), str(second.pk)])


@pytest.mark.parametrize(
    ("family", "kind"),
    [("cooperative", ""), ("association", "scic"), ("cooperative", "inconnu"), ("inconnue", "")],
)
def test_structure_create_refuses_inconsistent_family_and_kind(family, kind):
    with pytest.raises(ValidationError):
        services.structure_create(name="Ozon", family=family, cooperative_kind=kind, actor=None)
    assert not Structure.objects.exists()


def test_structure_create_refuses_an_invalid_website_in_french():
    with pytest.raises(ValidationError) as exc:
        services.structure_create(name="Totocar", family="association", website="pas une adresse", actor=None)
    assert "website" in exc.value.message_dict


def test_database_refuses_a_cooperative_without_kind():
    with pytest.raises(IntegrityError), transaction.atomic():
        Structure.objects.create(name="Ozon", slug="ozon", family="cooperative", cooperative_kind="")


def test_structure_update_changes_only_what_differs_and_keeps_search_in_step():
    structure = services.structure_create(name="Le Periscope", family="public", actor=None)
    logged = AuditLogEntry.objects.count()

    assert services.structure_update(structure=structure, actor=None, name="Le Periscope") == []
    assert AuditLogEntry.objects.count() == logged

    changed = services.structure_update(structure=structure, actor=None, name="Le Périscope", acronym="PTCE")
    assert changed == ["name", "acronym"]
    structure.refresh_from_db()
    assert structure.name == "Le Périscope"
    assert Structure.objects.search("périscope ptce").get() == structure
    assert AuditLogEntry.objects.filter(verb="actors.structure.updated").count() == 1


def test_structure_update_refuses_status_and_unknown_fields():
    structure = StructureFactory(status=Status.DRAFT)
    with pytest.raises(TypeError):
        services.structure_update(structure=structure, actor=None, status=Status.PUBLISHED)
    structure.refresh_from_db()
    assert structure.status == Status.DRAFT


def test_status_walks_the_allowed_transitions_and_logs_each():
    structure = StructureFactory(status=Status.DRAFT)
    services.structure_submit(structure=structure, actor=None)
    services.structure_publish(structure=structure, actor=None)
    services.structure_archive(structure=structure, actor=None)
    services.structure_restore(structure=structure, actor=None)

    structure.refresh_from_db()
    assert structure.status == Status.DRAFT
    steps = AuditLogEntry.objects.filter(verb="actors.structure.status_changed").order_by("id")
    assert [(e.data["from"], e.data["to"]) for e in steps] == [
        ("draft", "pending"),
        ("pending", "published"),
        ("published", "archived"),
        ("archived", "draft"),
    ]


@pytest.mark.parametrize(("start", "target"), [("archived", "published"), ("archived", "pending")])
def test_forbidden_transition_is_refused_in_french_and_changes_nothing(start, target):
    structure = StructureFactory(status=start)
    with pytest.raises(ValidationError) as exc:
        services.structure_set_status(structure=structure, status=target, actor=None)
    assert "Passage impossible" in exc.value.message_dict["status"][0]
    structure.refresh_from_db()
    assert structure.status == start
    assert not AuditLogEntry.objects.filter(verb="actors.structure.status_changed").exists()


def test_transition_is_checked_against_the_stored_status_not_a_stale_copy():
    """Another request archived the draft meanwhile: a stale copy still saying "draft" cannot send it to the
    review queue (draft -> pending is allowed, archived -> pending is not)."""
    facilitator = FacilitatorFactory()
    structure = StructureFactory(status=Status.DRAFT)
    stale = Structure.objects.get(pk=structure.pk)
    services.structure_set_status(structure=structure, status=Status.ARCHIVED, actor=facilitator)

    with pytest.raises(ValidationError, match="Archivée"):
        services.structure_set_status(structure=stale, status=Status.PENDING, actor=facilitator)
    structure.refresh_from_db()
    assert structure.status == Status.ARCHIVED


def test_membership_add_is_idempotent_and_logs_role_changes():
    user, structure = UserFactory(), StructureFactory()
    services.membership_add(user=user, structure=structure, actor=None)
    services.membership_add(user=user, structure=structure, actor=None)
    services.membership_add(user=user, structure=structure, role=MembershipRole.MANAGER, actor=None)

    membership = Membership.objects.get()
    assert membership.role == MembershipRole.MANAGER
    verbs = list(AuditLogEntry.objects.order_by("id").values_list("verb", flat=True))
    assert verbs == ["actors.membership.added", "actors.membership.role_changed"]


def test_membership_add_refuses_an_unknown_role():
    with pytest.raises(ValidationError):
        services.membership_add(user=UserFactory(), structure=StructureFactory(), role="chef", actor=None)
    assert not Membership.objects.exists()


def test_membership_pair_is_unique_in_the_database():
    user, structure = UserFactory(), StructureFactory()
    Membership.objects.create(user=user, structure=structure)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, structure=structure, role=MembershipRole.MANAGER)


def test_membership_remove():
    user, structure = UserFactory(), StructureFactory()
    services.membership_add(user=user, structure=structure, actor=None)
    assert services.membership_remove(user=user, structure=structure, actor=None) is True
    assert services.membership_remove(user=user, structure=structure, actor=None) is False
    assert not Membership.objects.exists()


def test_search_ignores_accents_and_case():
    StructureFactory(name="Ozon, coopérative d'activités", search_name="ozon cooperative d activites")
    StructureFactory(name="Totocar", search_name="totocar")
    assert [s.name for s in Structure.objects.search("COOPERATIVE")] == ["Ozon, coopérative d'activités"]
    assert [s.name for s in Structure.objects.search("coopérative ozon")] == ["Ozon, coopérative d'activités"]


def test_in_perimeter_follows_the_communes_of_the_perimeter(cog_sample):
    sicoval = perimeter_save(slug="sicoval", name="Sicoval", kind="epci", epci_codes=["243100633"])
    inside = StructureFactory(commune=Commune.objects.get(code="31113"))
    StructureFactory(commune=Commune.objects.get(code="31555"))
    StructureFactory(commune=None)

    assert list(Structure.objects.in_perimeter(sicoval)) == [inside]
    assert list(Structure.objects.in_perimeter(sicoval.pk)) == [inside]


def test_published_and_ess_querysets():
    association = StructureFactory(family="association")
    StructureFactory(family="public")
    StructureFactory(family="association", status=Status.DRAFT)
    assert list(Structure.objects.published().ess()) == [association]
