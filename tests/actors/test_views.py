import pytest
from django.urls import reverse

from essaim.actors.models import Membership, Status
from essaim.territories.models import Commune
from essaim.territories.services import perimeter_save
from essaim.www.actors.views import PAGE_SIZE
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("actors:list")


def detail_url(structure):
    return reverse("actors:detail", args=[structure.slug])


def test_list_shows_published_structures_with_their_commune(client, cog_sample):
    StructureFactory(name="La Rafistolerie", commune=Commune.objects.get(code="31113"))
    StructureFactory(name="Brouillon caché", status=Status.DRAFT)
    StructureFactory(name="Archive cachée", status=Status.ARCHIVED)

    response = client.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "La Rafistolerie" in html
    assert "Castanet-Tolosan (31)" in html
    assert "Brouillon caché" not in html
    assert "Archive cachée" not in html
    assert "1 structure" in html


def test_list_filters_by_family_and_accent_insensitive_name(client):
    StructureFactory(name="Ozon, coopérative d'activités", family="cooperative", cooperative_kind="cae")
    StructureFactory(name="Association Jades")
    StructureFactory(name="Coopérative fictive publique", family="public")

    html = client.get(LIST_URL, {"famille": "cooperative"}).content.decode()
    assert "Ozon" in html and "Jades" not in html and "fictive" not in html

    html = client.get(LIST_URL, {"q": "COOPERATIVE"}).content.decode()
    assert "Ozon" in html and "fictive" in html and "Jades" not in html


def test_an_invalid_filter_is_reported_and_ignored(client):
    StructureFactory(name="Association Jades")
    response = client.get(LIST_URL, {"famille": "nimporte"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Association Jades" in html
    assert "Sélectionnez un choix valide" in html


def test_list_is_paginated(client):
    for index in range(PAGE_SIZE + 3):
        StructureFactory(name=f"Structure {index:02d}")
    first = client.get(LIST_URL).content.decode()
    second = client.get(LIST_URL, {"page": 2}).content.decode()
    assert "Structure 00" in first and f"Structure {PAGE_SIZE:02d}" not in first
    assert f"Structure {PAGE_SIZE:02d}" in second and "Structure 00" not in second
    assert "Page 2 sur 2" in second
    assert 'rel="prev"' in second


def test_htmx_request_gets_the_results_fragment_only(client):
    StructureFactory(name="Totocar")
    response = client.get(LIST_URL, {"q": "toto"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "Totocar" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_list_defaults_to_the_home_perimeter(client, cog_sample):
    perimeter_save(
        slug="pays-midi-quercy",
        name="Pays Midi-Quercy",
        kind="custom",
        epci_codes=["248200057", "200066884", "248200107"],
        is_home=True,
    )
    StructureFactory(name="Association Jades", commune=Commune.objects.get(code="82179"))
    StructureFactory(name="Totocar", commune=Commune.objects.get(code="31555"))

    home = client.get(LIST_URL).content.decode()
    assert "Association Jades" in home and "Totocar" not in home
    everywhere = client.get(LIST_URL, {"territoire": "tous"}).content.decode()
    assert "Association Jades" in everywhere and "Totocar" in everywhere


def test_detail_of_a_published_structure_is_public(client, cog_sample):
    structure = StructureFactory(
        name="Le Périscope",
        description="Pôle ESS du Sud-Est.",
        email="contact@periscope.example",
        website="https://periscope.example/",
        commune=Commune.objects.get(code="31446"),
    )
    html = client.get(detail_url(structure)).content.decode()
    assert "Le Périscope" in html
    assert "Pôle ESS du Sud-Est." in html
    assert "contact@periscope.example" in html
    assert "Ramonville-Saint-Agne" in html


def test_detail_never_shows_members_personal_data(client):
    structure = StructureFactory(name="Association Jades")
    member = UserFactory(full_name="Personne Très Privée", email="prive@exemple.fr")
    Membership.objects.create(user=member, structure=structure)

    client.force_login(FacilitatorFactory())
    html = client.get(detail_url(structure)).content.decode()
    list_html = client.get(LIST_URL).content.decode()
    for page in (html, list_html):
        assert "Personne Très Privée" not in page
        assert "prive@exemple.fr" not in page


@pytest.mark.parametrize("status", [Status.DRAFT, Status.PENDING, Status.ARCHIVED])
def test_unpublished_detail_is_404_for_the_public_and_other_members(client, status):
    structure = StructureFactory(status=status)
    assert client.get(detail_url(structure)).status_code == 404

    other = UserFactory()
    Membership.objects.create(user=other, structure=StructureFactory())
    client.force_login(other)
    assert client.get(detail_url(structure)).status_code == 404


@pytest.mark.parametrize("status", [Status.DRAFT, Status.PENDING, Status.ARCHIVED])
def test_unpublished_detail_is_shown_to_members_and_facilitators(client, status):
    structure = StructureFactory(name="Fiche en cours", status=status)
    member = UserFactory()
    Membership.objects.create(user=member, structure=structure)

    for user in (member, FacilitatorFactory()):
        client.force_login(user)
        response = client.get(detail_url(structure))
        assert response.status_code == 200
        assert "Fiche non publiée" in response.content.decode()


def test_unknown_slug_is_404(client):
    assert client.get(reverse("actors:detail", args=["inconnue"])).status_code == 404


def test_detail_shows_the_card_and_the_qualification_rule_to_facilitators_only(client):
    from essaim.actors import services
    from essaim.actors.models import LegalCategory, PendingChange

    category = LegalCategory.objects.create(code="5458", label="SARL coopérative de production (SCOP)")
    structure = services.structure_create(
        name="Ozon",
        family="cooperative",
        cooperative_kind="scop",
        actor=None,
        status="published",
        siren="552100554",
        legal_category=category,
        headcount_band="12",
        phone="05 61 00 00 00",
    )
    PendingChange.objects.create(
        structure=structure,
        field="name",
        old_value="Ozon",
        new_value="OZON SCOP",
        source="sirene",
        created_at=structure.created_at,
    )
    public = client.get(detail_url(structure)).content.decode()
    assert "552100554" in public and "20 à 49 salariés" in public and "05 61 00 00 00" in public
    assert "Règle appliquée" not in public and "OZON SCOP" not in public

    client.force_login(FacilitatorFactory())
    html = client.get(detail_url(structure)).content.decode()
    assert "5458 SARL coopérative de production (SCOP) → coopérative (SCOP" in html
    assert "OZON SCOP" in html
    assert "Équipe d&#x27;animation" in html  # Provenance of the fields typed by a facilitator.
