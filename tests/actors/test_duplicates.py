import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from essaim.actors.duplicates import (
    duplicate_candidates,
    duplicate_dismiss,
    structure_find_similar,
    structures_merge,
)
from essaim.actors.models import (
    DuplicateDismissal,
    Establishment,
    FieldProvenance,
    Membership,
    MembershipRole,
    PendingChange,
    Source,
    Status,
    Structure,
    Theme,
)
from essaim.actors.services import structure_create
from essaim.core.models import AuditLogEntry
from essaim.territories.models import Commune
from tests.factories import AdminFactory, FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

# Two points about 300 m apart in Castres, and one 5 km away.
CASTRES = (43.6060, 2.2400)
CASTRES_300M = (43.6087, 2.2400)
FAR_AWAY = (43.6510, 2.2400)


def pairs(candidates):
    return {frozenset((c.first.pk, c.second.pk)): c.reasons for c in candidates}


def at(point):
    return {"latitude": point[0], "longitude": point[1]}


def test_same_siren_through_an_establishment_siret():
    a = StructureFactory(name="Les Ateliers", siren="356000000")
    b = StructureFactory(name="Tout autre nom")
    Establishment.objects.create(structure=b, siret="35600000000048")
    found = pairs(duplicate_candidates(limit=10))
    assert found[frozenset((a.pk, b.pk))] == ["même SIREN"]


def test_similar_name_within_one_kilometre_but_not_farther():
    a = StructureFactory(name="Recyclerie des Ateliers de Castres", **at(CASTRES))
    b = StructureFactory(name="Association Recyclerie des Ateliers", **at(CASTRES_300M))
    c = StructureFactory(name="Recyclerie des ateliers", **at(FAR_AWAY))
    found = pairs(duplicate_candidates(limit=10))
    (reason,) = found[frozenset((a.pk, b.pk))]
    assert reason.startswith("nom proche (100 %) à 300 m")
    assert frozenset((a.pk, c.pk)) not in found
    assert frozenset((b.pk, c.pk)) not in found


def test_similar_name_without_point_needs_the_same_commune(cog_sample):
    castres, castanet = Commune.objects.get(code="81065"), Commune.objects.get(code="31113")
    a = StructureFactory(name="Épicerie solidaire Le Panier", commune=castres)
    b = StructureFactory(name="epicerie solidaire le panier", commune=castres)
    c = StructureFactory(name="Épicerie solidaire Le Panier", commune=castanet)
    found = pairs(duplicate_candidates(limit=10))
    assert found[frozenset((a.pk, b.pk))] == ["nom proche (100 %) dans la même commune"]
    assert frozenset((a.pk, c.pk)) not in found


def test_generic_words_do_not_make_names_similar(cog_sample):
    castres = Commune.objects.get(code="81065")
    StructureFactory(name="Association des Jardins", commune=castres)
    StructureFactory(name="Association des Paniers", commune=castres)
    assert duplicate_candidates(limit=10) == []


def test_same_website_domain_and_same_email():
    a = StructureFactory(name="Alpha", website="https://www.alpha-ess.fr/accueil", email="Contact@Alpha.fr")
    b = StructureFactory(name="Zeta", website="http://alpha-ess.fr", email="contact@alpha.fr")
    # A shared host (facebook.com) only counts with the same page.
    StructureFactory(name="Gamma", website="https://facebook.com/gamma")
    StructureFactory(name="Delta", website="https://facebook.com/delta")
    found = pairs(duplicate_candidates(limit=10))
    assert found == {frozenset((a.pk, b.pk)): ["même site web", "même courriel"]}


def test_archived_and_merged_cards_are_not_candidates():
    StructureFactory(name="Alpha", email="contact@alpha.fr")
    StructureFactory(name="Zeta", email="contact@alpha.fr", status=Status.ARCHIVED)
    assert duplicate_candidates(limit=10) == []


def test_candidates_for_one_structure_and_limit():
    a = StructureFactory(name="Alpha", email="contact@alpha.fr")
    b = StructureFactory(name="Zeta", email="contact@alpha.fr")
    c = StructureFactory(name="Beta", email="beta@beta.fr")
    d = StructureFactory(name="Omega", email="beta@beta.fr")
    assert len(duplicate_candidates(limit=1)) == 1
    only_a = pairs(duplicate_candidates(structure=a, limit=10))
    assert set(only_a) == {frozenset((a.pk, b.pk))}
    assert frozenset((c.pk, d.pk)) in pairs(duplicate_candidates(limit=10))


def test_dismissal_is_remembered_whatever_the_order():
    facilitator = FacilitatorFactory()
    a = StructureFactory(name="Alpha", email="contact@alpha.fr")
    b = StructureFactory(name="Zeta", email="contact@alpha.fr")
    duplicate_dismiss(first=b, second=a, actor=facilitator)
    duplicate_dismiss(first=a, second=b, actor=facilitator)  # idempotent
    assert DuplicateDismissal.objects.get().first_id == min(a.pk, b.pk)
    assert duplicate_candidates(limit=10) == []
    assert duplicate_candidates(structure=a, limit=10) == []
    assert AuditLogEntry.objects.filter(verb="actors.structure.not_duplicate").count() == 1
    with pytest.raises(ValidationError):
        duplicate_dismiss(first=a, second=a, actor=facilitator)


def test_find_similar_warns_at_entry_time(cog_sample):
    castres = Commune.objects.get(code="81065")
    by_siren = StructureFactory(name="SCOP Ozon", siren="356000000")
    by_name = StructureFactory(name="La Recyclerie de Castres", commune=castres)
    StructureFactory(name="La Recyclerie de Castres", status=Status.ARCHIVED, commune=castres)
    StructureFactory(name="Sans rapport", commune=castres)

    found = structure_find_similar(name="Recyclerie de Castres", commune=castres, siren="35600000000048")
    assert {item.structure.pk: item.reasons for item in found} == {
        by_siren.pk: ["même SIREN"],
        by_name.pk: ["nom proche (100 %) dans la même commune"],
    }
    assert found[0].structure == by_siren  # strongest first
    assert structure_find_similar(name="Nouvelle structure", commune=castres) == []


@pytest.fixture
def two_cards():
    facilitator = FacilitatorFactory()
    theme_a, theme_b = (
        Theme.objects.create(slug="t-a", label="A"),
        Theme.objects.create(slug="t-b", label="B"),
    )
    keep = structure_create(
        name="Ressourcerie du Tarn", family="association", actor=facilitator, email="a@tarn.fr",
        siren="", status=Status.PUBLISHED, themes=[theme_a], source=Source.FACILITATOR,
    )  # fmt: skip
    remove = structure_create(
        name="Ressourcerie Tarnaise", family="association", actor=facilitator, phone="05 63 00 00 00",
        siren="356000000", status=Status.PUBLISHED, themes=[theme_b], source=Source.SIRENE,
        source_ref="stock",
    )  # fmt: skip
    return facilitator, keep, remove, theme_a, theme_b


def test_merge_takes_chosen_fields_moves_related_rows_and_archives(two_cards):
    facilitator, keep, remove, theme_a, theme_b = two_cards
    both, only_removed = UserFactory(), UserFactory()
    Membership.objects.create(user=both, structure=keep, role=MembershipRole.MEMBER)
    Membership.objects.create(user=both, structure=remove, role=MembershipRole.MANAGER)
    Membership.objects.create(user=only_removed, structure=remove)
    Establishment.objects.create(structure=remove, siret="35600000000048", is_head_office=True)
    PendingChange.objects.create(
        structure=remove, field="phone", new_value="x", source=Source.CSV, created_at=keep.created_at
    )

    structures_merge(
        keep=keep,
        remove=remove,
        field_choices={"siren": "remove", "phone": "remove", "email": "keep", "name": "keep"},
        actor=facilitator,
    )
    keep.refresh_from_db()
    remove.refresh_from_db()
    assert (keep.name, keep.email, keep.siren, keep.phone) == (
        "Ressourcerie du Tarn", "a@tarn.fr", "356000000", "05 63 00 00 00",
    )  # fmt: skip
    assert remove.status == Status.ARCHIVED and remove.merged_into == keep and remove.siren == ""
    assert set(keep.themes.all()) == {theme_a, theme_b}
    assert list(keep.establishments.values_list("siret", flat=True)) == ["35600000000048"]
    assert Membership.objects.get(user=both, structure=keep).role == MembershipRole.MANAGER
    assert Membership.objects.filter(user=only_removed, structure=keep).exists()
    assert keep.pending_changes.count() == 1  # found generically through _meta
    # Provenance: the SIREN now comes from the removed card's source; both histories are kept.
    assert FieldProvenance.objects.get(structure=keep, field="siren").source == Source.SIRENE
    assert FieldProvenance.objects.get(structure=keep, field="email").source == Source.FACILITATOR
    assert FieldProvenance.objects.filter(structure=remove, field="phone").exists()
    entry = AuditLogEntry.objects.get(verb="actors.structure.merged")
    assert entry.data["choices"]["siren"] == "remove" and entry.data["choices"]["email"] == "keep"
    assert entry.data["removed"] == remove.pk


def test_merge_refusals_leave_data_untouched(two_cards):
    facilitator, keep, remove, *_ = two_cards
    with pytest.raises(ValidationError, match="elle-même"):
        structures_merge(keep=keep, remove=keep, field_choices={}, actor=facilitator)
    with pytest.raises(ValidationError, match="Champs inconnus"):
        structures_merge(keep=keep, remove=remove, field_choices={"slug": "remove"}, actor=facilitator)
    with pytest.raises(ValidationError, match="Choix inconnu"):
        structures_merge(keep=keep, remove=remove, field_choices={"name": "both"}, actor=facilitator)
    structures_merge(keep=keep, remove=remove, field_choices={}, actor=facilitator)
    other = StructureFactory()
    with pytest.raises(ValidationError, match="déjà été fusionnée"):
        structures_merge(keep=other, remove=remove, field_choices={}, actor=facilitator)
    with pytest.raises(ValidationError, match="déjà été fusionnée"):
        structures_merge(keep=remove, remove=other, field_choices={}, actor=facilitator)
    other.refresh_from_db()
    assert other.merged_into is None and other.status == Status.PUBLISHED


def test_merge_rolls_back_on_an_invalid_result(two_cards):
    facilitator, keep, remove, *_ = two_cards
    # Invalid data already stored (wrong SIREN check digit, which only full validation catches).
    Structure.objects.filter(pk=remove.pk).update(siren="123456789")
    remove.refresh_from_db()
    with pytest.raises(ValidationError, match="Luhn"):
        structures_merge(keep=keep, remove=remove, field_choices={"siren": "remove"}, actor=facilitator)
    remove.refresh_from_db()
    keep.refresh_from_db()
    assert remove.siren == "123456789" and remove.merged_into is None and keep.siren == ""
    assert not AuditLogEntry.objects.filter(verb="actors.structure.merged").exists()


def test_merged_card_url_redirects_permanently(client, two_cards):
    facilitator, keep, remove, *_ = two_cards
    structures_merge(keep=keep, remove=remove, field_choices={}, actor=facilitator)
    response = client.get(reverse("actors:detail", args=[remove.slug]))
    assert response.status_code == 301
    assert response["Location"] == reverse("actors:detail", args=[keep.slug])


@pytest.mark.parametrize(
    ("user_factory", "allowed"),
    [(None, False), (UserFactory, False), (FacilitatorFactory, True), (AdminFactory, True)],
)
def test_duplicate_pages_are_for_facilitators_only(client, user_factory, allowed):
    a = StructureFactory(name="Alpha", email="contact@alpha.fr")
    b = StructureFactory(name="Zeta", email="contact@alpha.fr")
    if user_factory is not None:
        client.force_login(user_factory())
    list_response = client.get(reverse("actors:duplicates"))
    merge_response = client.get(reverse("actors:duplicate_merge", args=[a.pk, b.pk]))
    dismiss_response = client.post(reverse("actors:duplicate_dismiss", args=[a.pk, b.pk]))
    expected = 200 if allowed else 404
    assert list_response.status_code == merge_response.status_code == expected
    assert dismiss_response.status_code == (302 if allowed else 404)
    assert DuplicateDismissal.objects.exists() is allowed


def test_list_page_shows_reasons_and_dismissal_hides_the_pair(client):
    client.force_login(FacilitatorFactory())
    a = StructureFactory(name="Alpha", email="contact@alpha.fr")
    b = StructureFactory(name="Zeta", email="contact@alpha.fr")
    html = client.get(reverse("actors:duplicates")).content.decode()
    assert "Alpha" in html and "Zeta" in html and "même courriel" in html
    assert reverse("actors:duplicate_dismiss", args=[a.pk, b.pk]) in html
    response = client.post(reverse("actors:duplicate_dismiss", args=[a.pk, b.pk]), follow=True)
    html = response.content.decode()
    assert "ne seront plus proposées comme doublons" in html
    assert "Aucun doublon probable." in html
    assert client.get(reverse("actors:duplicate_dismiss", args=[a.pk, b.pk])).status_code == 405


def test_merge_page_compares_fields_and_merges_into_the_chosen_card(client, two_cards):
    facilitator, keep, remove, *_ = two_cards
    client.force_login(facilitator)
    url = reverse("actors:duplicate_merge", args=[keep.pk, remove.pk])
    html = client.get(url).content.decode()
    assert "<legend>SIREN</legend>" in html and "<legend>Téléphone</legend>" in html
    assert "<legend>Famille</legend>" not in html  # same value: nothing to choose
    assert 'name="csrfmiddlewaretoken"' in html

    # Keep the second card, with the first card's name.
    response = client.post(
        url,
        {"keep": "second", "field_name": "first", "field_email": "first", "field_siren": "second",
         "field_phone": "second"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == reverse("actors:detail", args=[remove.slug])
    remove.refresh_from_db()
    keep.refresh_from_db()
    assert remove.name == "Ressourcerie du Tarn" and remove.email == "a@tarn.fr"
    assert keep.merged_into == remove and keep.status == Status.ARCHIVED
    # The merged pair cannot be merged again.
    assert client.get(url).status_code == 302


def test_merge_page_reports_a_missing_choice(client, two_cards):
    facilitator, keep, remove, *_ = two_cards
    client.force_login(facilitator)
    url = reverse("actors:duplicate_merge", args=[keep.pk, remove.pk])
    response = client.post(url, {"keep": "first"})
    assert response.status_code == 400
    assert "Le formulaire contient des erreurs" in response.content.decode()
    remove.refresh_from_db()
    assert remove.merged_into is None


def test_merging_again_repoints_earlier_merged_cards(two_cards):
    facilitator, keep, remove, *_ = two_cards
    final = StructureFactory(name="Ressourcerie finale")
    structures_merge(keep=keep, remove=remove, field_choices={}, actor=facilitator)
    keep.refresh_from_db()
    structures_merge(keep=final, remove=keep, field_choices={}, actor=facilitator)
    remove.refresh_from_db()
    # One hop only: the first merged card now points straight at the final one.
    assert remove.merged_into == final
