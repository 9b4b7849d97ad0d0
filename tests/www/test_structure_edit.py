"""Card management pages: permission matrix, claim, edit with moderation, history, archive, creation."""

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from essaim.actors.access import (
    structure_can_archive,
    structure_can_change_card,
    structure_can_claim,
    structure_can_create,
    structure_can_moderate,
    structure_can_restore,
    structure_can_see_history,
)
from essaim.actors.models import (
    ClaimStatus,
    Family,
    FieldProvenance,
    Membership,
    MembershipRole,
    PendingChange,
    RevisionStatus,
    Source,
    Status,
    Structure,
    StructureClaim,
    StructureRevision,
    StructureVersion,
)
from essaim.actors.services import structure_create, structure_update
from essaim.core.models import OutgoingEmail
from tests.demo.cog_sample import load_cog_sample
from tests.factories import AdminFactory, FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "other_member", "member", "facilitator", "admin"]
ACTIONS = ["claim", "edit", "moderate", "history", "restore", "archive", "create"]
# Who may do what on a PUBLISHED card.
ALLOWED = {
    "claim": {"other_member", "facilitator", "admin"},
    "edit": {"member", "facilitator", "admin"},
    "moderate": {"facilitator", "admin"},
    "history": {"member", "facilitator", "admin"},
    "restore": {"facilitator", "admin"},
    "archive": {"facilitator", "admin"},
    "create": {"other_member", "member", "facilitator", "admin"},
}


def make_persona(name, structure):
    if name == "anonymous":
        return None
    if name == "member":
        user = UserFactory()
        Membership.objects.create(user=user, structure=structure)
        return user
    if name == "other_member":
        user = UserFactory()
        Membership.objects.create(user=user, structure=StructureFactory())
        return user
    return FacilitatorFactory() if name == "facilitator" else AdminFactory()


def access_check(action, user, structure):
    from django.contrib.auth.models import AnonymousUser

    user = user or AnonymousUser()
    return {
        "claim": lambda: structure_can_claim(user, structure),
        "edit": lambda: structure_can_change_card(user, structure),
        "moderate": lambda: structure_can_moderate(user),
        "history": lambda: structure_can_see_history(user, structure),
        "restore": lambda: structure_can_restore(user, structure),
        "archive": lambda: structure_can_archive(user, structure),
        "create": lambda: structure_can_create(user),
    }[action]()


def http_check(action, client, structure, version):
    """The answer of the action's page: True when allowed, False for 404 or the login page."""
    slug = structure.slug
    if action == "archive":
        response = client.post(reverse("actors:archive", args=[slug]))
        allowed = response.status_code == 302 and response["Location"] == reverse(
            "actors:detail", args=[slug]
        )
        return allowed
    url = {
        "claim": reverse("actors:claim", args=[slug]),
        "edit": reverse("actors:edit", args=[slug]),
        "moderate": reverse("actors:moderation"),
        "history": reverse("actors:history", args=[slug]),
        "restore": reverse("actors:version_restore", args=[slug, version.pk]),
        "create": reverse("actors:new"),
    }[action]
    response = client.get(url)
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("accounts:login"))
        return False
    assert response.status_code in (200, 404)
    return response.status_code == 200


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(client, persona, action):
    structure = StructureFactory(status=Status.PUBLISHED)
    structure_update(structure=structure, actor=None, phone="01")
    structure_update(structure=structure, actor=None, phone="02")
    version = StructureVersion.objects.filter(structure=structure).order_by("pk").first()
    user = make_persona(persona, structure)
    expected = persona in ALLOWED[action]
    assert access_check(action, user, structure) is expected
    if user is not None:
        client.force_login(user)
    assert http_check(action, client, structure, version) is expected
    structure.refresh_from_db()
    assert (structure.status == Status.ARCHIVED) is (action == "archive" and expected)


@pytest.mark.parametrize("persona", ["anonymous", "other_member"])
def test_an_unpublished_card_is_404_for_outsiders(client, persona):
    structure = StructureFactory(status=Status.DRAFT)
    user = make_persona(persona, structure)
    if user is not None:
        client.force_login(user)
    for name in ("edit", "history"):
        assert client.get(reverse(f"actors:{name}", args=[structure.slug])).status_code == 404
    if user is not None:
        assert client.get(reverse("actors:claim", args=[structure.slug])).status_code == 404


def test_card_shows_the_actions_each_visitor_may_take(client):
    structure = StructureFactory(status=Status.PUBLISHED)
    url = reverse("actors:detail", args=[structure.slug])
    html = client.get(url).content.decode()
    assert "Connectez-vous pour mettre à jour sa fiche" in html and "Modifier la fiche" not in html

    member = make_persona("member", structure)
    client.force_login(member)
    html = client.get(url).content.decode()
    assert "Modifier la fiche" in html and "Historique" in html
    assert "Archiver" not in html and "Je fais partie" not in html

    client.force_login(UserFactory())
    html = client.get(url).content.decode()
    assert "Je fais partie de cette structure" in html and "Modifier la fiche" not in html

    client.force_login(FacilitatorFactory())
    html = client.get(url).content.decode()
    assert "Modifier la fiche" in html and "Archiver la fiche" in html


def test_claim_on_the_domain_makes_a_member_at_once(client):
    structure = StructureFactory(status=Status.PUBLISHED, website="https://www.ozon.coop")
    user = UserFactory(email="lea@ozon.coop")
    client.force_login(user)
    page = client.get(reverse("actors:claim", args=[structure.slug])).content.decode()
    assert "acceptée tout de suite" in page
    response = client.post(reverse("actors:claim", args=[structure.slug]), {"message": "Gérante"})
    assert response.status_code == 302
    assert Membership.objects.filter(user=user, structure=structure).exists()


def test_claim_for_review_then_rejected_from_the_moderation_page(client):
    structure = StructureFactory(status=Status.PUBLISHED, name="Jades")
    user = UserFactory(email="lea@gmail.com")
    client.force_login(user)
    client.post(reverse("actors:claim", args=[structure.slug]), {"message": "Bénévole"})
    claim = StructureClaim.objects.get()
    assert claim.status == ClaimStatus.OPEN
    html = client.get(reverse("actors:detail", args=[structure.slug])).content.decode()
    assert "en attente de l'équipe d'animation" in html

    client.force_login(FacilitatorFactory())
    queue = client.get(reverse("actors:moderation")).content.decode()
    assert "lea@gmail.com" in queue and "Bénévole" in queue
    decide = reverse("actors:claim_decide", args=[claim.pk])
    client.post(decide, {"decision": "reject", "reason": ""})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.OPEN  # A rejection without reason is refused.
    client.post(decide, {"decision": "reject", "reason": "Inconnue de la structure"})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED
    assert "Inconnue de la structure" in OutgoingEmail.objects.get(to=["lea@gmail.com"]).body


def edit_data(structure, **changes):
    data = {
        "name": structure.name,
        "acronym": structure.acronym,
        "description": structure.description,
        "address": structure.address,
        "commune_query": "",
        "commune": "",
        "phone": structure.phone,
        "email": structure.email,
        "website": structure.website,
        "opening_hours": structure.opening_hours,
        "headcount_band": structure.headcount_band,
        "creation_date": "",
    }
    data.update(changes)
    return data


def test_member_proposes_an_edit_and_facilitator_approves_some_fields(client):
    load_cog_sample()
    structure = StructureFactory(status=Status.PUBLISHED, name="Jades", phone="01")
    member = make_persona("member", structure)
    client.force_login(member)
    edit_url = reverse("actors:edit", args=[structure.slug])
    assert "relues par l'équipe d'animation" in client.get(edit_url).content.decode()
    response = client.post(
        edit_url, edit_data(structure, phone="05 61 00 00 00", description="Recyclerie", commune="31113")
    )
    assert response.status_code == 302
    structure.refresh_from_db()
    assert structure.phone == "01"
    revision = StructureRevision.objects.get()
    assert set(revision.changes) == {"phone", "description", "commune"}
    page = client.get(edit_url).content.decode()
    # The member edits on top of the proposal.
    assert "Votre proposition en attente" in page and 'value="05 61 00 00 00"' in page
    assert 'value="Castanet-Tolosan (31)"' in page

    client.force_login(FacilitatorFactory())
    queue = client.get(reverse("actors:moderation")).content.decode()
    assert "05 61 00 00 00" in queue and "Castanet-Tolosan" in queue
    review_url = reverse("actors:revision_review", args=[revision.pk])
    page = client.get(review_url).content.decode()
    assert "<del>01</del>" in page and "<ins>05 61 00 00 00</ins>" in page
    response = client.post(review_url, {"decision": "approve_selected", "accepted": ["phone", "commune"]})
    assert response.status_code == 302
    structure.refresh_from_db()
    assert structure.phone == "05 61 00 00 00" and structure.commune.code == "31113"
    assert structure.description == ""
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.PARTIAL
    assert FieldProvenance.objects.get(structure=structure, field="phone").source == Source.STRUCTURE


def test_rejecting_a_proposal_from_its_page_requires_a_reason(client):
    structure = StructureFactory(status=Status.PUBLISHED, phone="01")
    member = make_persona("member", structure)
    client.force_login(member)
    client.post(reverse("actors:edit", args=[structure.slug]), edit_data(structure, phone="02"))
    revision = StructureRevision.objects.get()
    client.force_login(FacilitatorFactory())
    url = reverse("actors:revision_review", args=[revision.pk])
    page = client.post(url, {"decision": "reject", "reason": ""}).content.decode()
    assert "Indiquez le motif du refus" in page
    client.post(url, {"decision": "reject", "reason": "Numéro d'un particulier"})
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.REJECTED


def test_facilitator_edit_applies_directly_and_shows_form_errors(client):
    structure = StructureFactory(status=Status.PUBLISHED, phone="01")
    client.force_login(FacilitatorFactory())
    url = reverse("actors:edit", args=[structure.slug])
    page = client.post(url, edit_data(structure, commune_query="Nulle-Part-sur-Mer", family="association"))
    assert "Commune introuvable" in page.content.decode()
    response = client.post(url, edit_data(structure, phone="02", family="association"))
    assert response.status_code == 302
    structure.refresh_from_db()
    assert structure.phone == "02"
    assert not StructureRevision.objects.exists()


def test_history_page_and_restore(client):
    facilitator = FacilitatorFactory()
    structure = structure_create(
        name="Ozon", family=Family.ASSOCIATION, actor=facilitator, status=Status.PUBLISHED, phone="01"
    )
    structure_update(structure=structure, actor=facilitator, phone="02")
    first = StructureVersion.objects.filter(structure=structure).order_by("pk").first()
    client.force_login(facilitator)
    page = client.get(reverse("actors:history", args=[structure.slug])).content.decode()
    assert "<del>01</del>" in page and "<ins>02</ins>" in page and "Revenir à cette version" in page
    url = reverse("actors:version_restore", args=[structure.slug, first.pk])
    assert "<ins>01</ins>" in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    structure.refresh_from_db()
    assert structure.phone == "01"
    # A member sees the history, without restore links.
    member = make_persona("member", structure)
    client.force_login(member)
    page = client.get(reverse("actors:history", args=[structure.slug])).content.decode()
    assert "Restauration" in page and "Revenir à cette version" not in page


def test_archive_and_bring_back(client):
    structure = StructureFactory(status=Status.PUBLISHED)
    client.force_login(FacilitatorFactory())
    client.post(reverse("actors:archive", args=[structure.slug]))
    structure.refresh_from_db()
    assert structure.status == Status.ARCHIVED
    assert (
        "Sortir la fiche des archives"
        in client.get(reverse("actors:detail", args=[structure.slug])).content.decode()
    )
    client.post(reverse("actors:unarchive", args=[structure.slug]))
    structure.refresh_from_db()
    assert structure.status == Status.DRAFT
    assert client.get(reverse("actors:archive", args=[structure.slug])).status_code == 405


def test_the_admin_never_deletes_structures():
    request = RequestFactory().get("/")
    request.user = AdminFactory()
    model_admin = site._registry[Structure]
    assert model_admin.has_delete_permission(request) is False
    assert "delete_selected" not in model_admin.get_actions(request)


def test_creation_warns_about_similar_cards_and_needs_confirmation(client):
    existing = StructureFactory(name="Recyclerie des Ateliers", website="https://recyclerie-ateliers.fr")
    client.force_login(FacilitatorFactory())
    url = reverse("actors:new")
    data = {
        "name": "Ateliers de la recyclerie",
        "family": "association",
        "website": "https://recyclerie-ateliers.fr/",
    }
    page = client.post(url, {**data, "publish": "1"}).content.decode()
    assert "peut-être déjà dans l'annuaire" in page
    assert reverse("actors:detail", args=[existing.slug]) in page and "même site web" in page
    assert Structure.objects.count() == 1
    response = client.post(url, {**data, "publish": "1", "confirm_duplicates": "on"})
    created = Structure.objects.exclude(pk=existing.pk).get()
    assert response["Location"] == reverse("actors:detail", args=[created.slug])
    assert created.status == Status.PUBLISHED and created.origin_source == Source.FACILITATOR


def test_a_card_named_like_a_route_gets_another_slug(client):
    client.force_login(FacilitatorFactory())
    client.post(reverse("actors:new"), {"name": "Nouvelle", "family": "association"})
    structure = Structure.objects.get()
    assert structure.slug == "nouvelle-2" and structure.status == Status.DRAFT
    assert client.get(reverse("actors:detail", args=[structure.slug])).status_code == 200


def test_a_member_proposes_a_new_card_that_a_facilitator_publishes(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("actors:new"), {"name": "Totocar", "family": "association"})
    structure = Structure.objects.get()
    assert response.status_code == 302 and structure.status == Status.PENDING
    assert Membership.objects.get(structure=structure).role == MembershipRole.MANAGER

    client.force_login(FacilitatorFactory())
    assert "Totocar" in client.get(reverse("actors:moderation")).content.decode()
    client.post(reverse("actors:publish", args=[structure.slug]))
    structure.refresh_from_db()
    assert structure.status == Status.PUBLISHED


def test_import_changes_are_decided_from_the_moderation_page(client):
    from django.utils import timezone

    structure = StructureFactory(naf_code="88.99B")
    change = PendingChange.objects.create(
        structure=structure,
        field="naf_code",
        old_value="88.99B",
        new_value="94.99Z",
        source=Source.SIRENE,
        created_at=timezone.now(),
    )
    client.force_login(FacilitatorFactory())
    queue = client.get(reverse("actors:moderation")).content.decode()
    assert "94.99Z" in queue and "Code NAF" in queue
    client.post(reverse("actors:pending_change_decide", args=[change.pk]), {"decision": "accept"})
    structure.refresh_from_db()
    assert structure.naf_code == "94.99Z"


def test_claims_and_proposed_cards_are_rate_limited_for_non_facilitators(client, monkeypatch):
    from essaim.www.actors import manage

    monkeypatch.setattr(manage, "SELF_SERVICE_RATE", "2/h")
    client.force_login(UserFactory())
    statuses = [
        client.post(reverse("actors:new"), {"name": f"Asso {n}", "family": "association"}).status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert Structure.objects.count() == 2
    client.force_login(FacilitatorFactory())
    for n in range(3):
        assert (
            client.post(reverse("actors:new"), {"name": f"Fiche {n}", "family": "association"}).status_code
            == 302
        )
