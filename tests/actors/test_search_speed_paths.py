"""The fast paths of the directory search (``actors.search``): with text, the territory, themes and labels are
answered by the full-text index through filter terms written in the documents. These tests check that this
path selects exactly what the plain SQL filters select, and that the terms follow every change of a card.
Runs on both engines (SQLite FTS5, PostgreSQL full-text)."""

import math

import pytest
from django.urls import reverse

from essaim.actors import search
from essaim.actors.models import Label, Status, Structure, Theme
from essaim.actors.search import StructureFilters, _perimeter_terms, filter_term, structure_search
from essaim.actors.services import structure_create, structure_update
from essaim.territories.models import Commune
from essaim.territories.services import perimeter_save
from tests.factories import FacilitatorFactory

pytestmark = pytest.mark.django_db


def names(result):
    return sorted(structure.name for structure in result.items)


@pytest.fixture
def facilitator():
    return FacilitatorFactory()


@pytest.fixture
def cards(cog_sample, facilitator):
    communes = {commune.code: commune for commune in Commune.objects.all()}
    reuse = Theme.objects.create(slug="test-reemploi", label="Réemploi")
    food = Theme.objects.create(slug="test-alimentation", label="Alimentation")
    cress = Label.objects.create(slug="test-cress", label="Membre de la CRESS")

    def create(name, code, *, themes=(), labels=(), family="association", status=Status.PUBLISHED):
        return structure_create(
            name=name,
            actor=facilitator,
            family=family,
            cooperative_kind="scop" if family == "cooperative" else "",
            status=status,
            commune=communes[code] if code else None,
            themes=list(themes),
            labels=list(labels),
        )

    create("Recyclerie de Toulouse", "31555", themes=[reuse])
    create("Recyclerie de Ramonville", "31446", labels=[cress])
    create("Recyclerie de Castanet", "31113", themes=[reuse, food], labels=[cress], family="cooperative")
    create("Recyclerie de Castres", "81065", themes=[food])
    create("Recyclerie de Montauban", "82121", themes=[reuse])
    create("Recyclerie sans commune", None, themes=[reuse])
    create("Recyclerie en brouillon", "31555", themes=[reuse], status=Status.DRAFT)
    create("Épicerie de Toulouse", "31555", themes=[reuse], labels=[cress])
    return communes


FILTER_CASES = [
    {"themes": ("test-reemploi",)},
    {"themes": ("test-reemploi", "test-alimentation")},
    {"labels": ("test-cress",)},
    {"themes": ("test-alimentation",), "labels": ("test-cress",)},
    {"communes": ("31113", "82121")},
    {"epcis": ("243100633",)},
    {"departements": ("31",)},
    {"departements": ("31", "81"), "themes": ("test-alimentation",)},
    {"departements": ("31",), "families": ("cooperative",)},
    {"themes": ("inconnue",)},
]


@pytest.mark.parametrize("filters", FILTER_CASES)
def test_text_with_filters_selects_what_the_filters_select(cards, filters):
    """Text + filters (filter terms in the index) == the same filters alone (SQL) among the text's matches."""
    filters = StructureFilters(**filters)
    everything = {s.name for s in structure_search(filters=filters, per_page=100).items}
    expected = sorted(name for name in everything if name.startswith("Recyclerie"))
    result = structure_search(text="recyclerie", filters=filters, per_page=100)
    assert names(result) == expected
    assert result.total == len(expected)
    if expected:
        assert not result.approximate


def test_text_with_a_perimeter_of_whole_and_partial_units(cards):
    # The whole Tarn and the whole Grand Montauban (one commune each in the sample), the whole Sicoval.
    mixed = perimeter_save(
        slug="mixte",
        name="Mixte",
        kind="custom",
        departement_codes=["81"],
        epci_codes=["243100633"],
        commune_codes=["82121"],
    )
    assert _perimeter_terms(mixed.pk) == [
        filter_term("d", "81"),
        filter_term("e", "243100633"),
        filter_term("e", "248200099"),
    ]
    result = structure_search(text="recyclerie", filters=StructureFilters(perimeter=mixed))
    assert names(result) == [
        "Recyclerie de Castanet",
        "Recyclerie de Castres",
        "Recyclerie de Montauban",
        "Recyclerie de Ramonville",
    ]
    # One commune of the Sicoval only: a commune term, not the EPCI's.
    castanet = perimeter_save(slug="castanet", name="Castanet", kind="custom", commune_codes=["31113"])
    assert _perimeter_terms(castanet.pk) == [filter_term("c", "31113")]
    assert names(structure_search(text="recyc", filters=StructureFilters(perimeter=castanet.pk))) == [
        "Recyclerie de Castanet"
    ]
    empty = perimeter_save(slug="vide", name="Vide", kind="custom", commune_codes=["33063"])
    assert structure_search(text="recyclerie", filters=StructureFilters(perimeter=empty)).total == 0


def test_filter_terms_follow_the_changes_of_a_card(cards, facilitator):
    card = Structure.objects.get(name="Recyclerie de Toulouse")
    in_tarn = StructureFilters(departements=("81",))
    assert "Recyclerie de Toulouse" not in names(structure_search(text="recyclerie", filters=in_tarn))

    structure_update(structure=card, actor=facilitator, commune=cards["81065"])
    assert "Recyclerie de Toulouse" in names(structure_search(text="recyclerie", filters=in_tarn))
    in_31 = StructureFilters(departements=("31",))
    assert "Recyclerie de Toulouse" not in names(structure_search(text="recyclerie", filters=in_31))

    food = StructureFilters(themes=("test-alimentation",))
    assert "Recyclerie de Toulouse" not in names(structure_search(text="recyclerie", filters=food))
    food_theme = Theme.objects.get(slug="test-alimentation")
    structure_update(structure=card, actor=facilitator, themes=[food_theme])
    assert "Recyclerie de Toulouse" in names(structure_search(text="recyclerie", filters=food))
    reuse = StructureFilters(themes=("test-reemploi",))
    assert "Recyclerie de Toulouse" not in names(structure_search(text="recyclerie", filters=reuse))


def test_typo_tolerance_keeps_the_filters(cards):
    result = structure_search(text="recylerie", filters=StructureFilters(departements=("81",)))
    assert result.approximate
    assert names(result) == ["Recyclerie de Castres"]
    themed = structure_search(text="recylerie", filters=StructureFilters(themes=("test-alimentation",)))
    assert names(themed) == ["Recyclerie de Castanet", "Recyclerie de Castres"]


def test_filter_terms_are_not_words_of_the_text(cards):
    # "31" and the term prefix match nothing although every card of the Haute-Garonne holds "zz0d31".
    assert structure_search(text="31").total == 0
    for start in (filter_term("d", "31")[:3], filter_term("d", "31")[:4]):
        assert structure_search(text=start).total == 0, start


def test_filter_terms_with_another_queryset_and_facets(cards):
    everyone = Structure.objects.all()
    in_toulouse = StructureFilters(communes=("31555",), themes=("test-reemploi",))
    result = structure_search(text="recyclerie", filters=in_toulouse, queryset=everyone)
    assert names(result) == ["Recyclerie de Toulouse", "Recyclerie en brouillon"]
    facets = {v.value: (v.count, v.selected) for v in result.facets["themes"].values}
    assert facets == {"test-reemploi": (2, True)}
    assert {v.value: v.count for v in result.facets["departements"].values} == {"31": 2}


def test_whole_words_first_then_the_last_word_as_a_prefix(facilitator):
    for name in ("Café des Arts", "Cafétéria solidaire", "La Rafistolerie"):
        structure_create(name=name, actor=facilitator, family="association", status=Status.PUBLISHED)

    # A whole word: no longer words that start with it...
    assert names(structure_search(text="café")) == ["Café des Arts"]
    # ... unless searching as you type.
    assert names(structure_search(text="café", prefix=True)) == ["Café des Arts", "Cafétéria solidaire"]
    # A word that no card has whole is a word being typed.
    rafis = structure_search(text="rafis")
    assert names(rafis) == ["La Rafistolerie"] and not rafis.approximate
    assert names(structure_search(text="cafété")) == ["Cafétéria solidaire"]


def test_directory_page_typed_query_is_a_prefix_a_loaded_page_is_not(client, facilitator):
    for name in ("Café des Arts", "Cafétéria solidaire"):
        structure_create(name=name, actor=facilitator, family="association", status=Status.PUBLISHED)
    url = reverse("actors:list")

    loaded = client.get(url, {"q": "café", "territoire": "tous"}).content.decode()
    assert "Café des Arts" in loaded and "Cafétéria solidaire" not in loaded
    typed = client.get(url, {"q": "café", "territoire": "tous"}, headers={"HX-Request": "true"})
    assert "Cafétéria solidaire" in typed.content.decode()
    # A space after the last word: the word is finished.
    finished = client.get(url, {"q": "café ", "territoire": "tous"}, headers={"HX-Request": "true"})
    assert "Cafétéria solidaire" not in finished.content.decode()
    assert "Café des Arts" in finished.content.decode()


def test_radius_checks_each_point_exactly(cog_sample, facilitator):
    centre = (45.0, 3.0)
    north_east = 10 / 111.2 / 2**0.5  # degrees of latitude for 10 km / sqrt(2)
    east = north_east / math.cos(math.radians(45.0))
    for name, km in (("Diagonale 9,5 km", 9.5), ("Diagonale 10,5 km", 10.5), ("Diagonale 6 km", 6)):
        structure_create(
            name=name,
            actor=facilitator,
            family="association",
            status=Status.PUBLISHED,
            latitude=centre[0] + north_east * km / 10,
            longitude=centre[1] + east * km / 10,
        )
    result = structure_search(filters=StructureFilters(centre=centre, radius_km=10))
    assert [item.name for item in result.items] == ["Diagonale 6 km", "Diagonale 9,5 km"]
    assert [round(item.distance_km, 1) for item in result.items] == [6.0, 9.5]


def test_nearest_page_of_a_large_selection_is_that_of_the_whole_sort(cog_sample, facilitator, monkeypatch):
    # Selections above FACET_IDS_LIMIT are sorted on a smaller disc first: lower the limit to reach that path.
    monkeypatch.setattr(search, "FACET_IDS_LIMIT", 3)
    centre = (45.0, 3.0)
    for index in range(40):
        structure_create(
            name=f"Point {index:02d}",
            actor=facilitator,
            family="association",
            status=Status.PUBLISHED,
            latitude=centre[0] + 0.0008 * (index + 1),
            longitude=centre[1],
        )
    filters = StructureFilters(centre=centre, radius_km=20)
    calls = []
    real = search.structure_queryset

    def counting(**kwargs):
        calls.append(kwargs["filters"].radius_km)
        return real(**kwargs)

    monkeypatch.setattr(search, "structure_queryset", counting)
    first = structure_search(filters=filters, per_page=4)
    second = structure_search(filters=filters, per_page=4, page=2)
    assert [item.name for item in first.items] == ["Point 00", "Point 01", "Point 02", "Point 03"]
    assert [item.name for item in second.items] == ["Point 04", "Point 05", "Point 06", "Point 07"]
    assert first.total == 40
    assert any(radius < 20 for radius in calls)  # the smaller disc was used


def test_facets_of_a_large_selection_are_counted_on_its_first_matches(client, facilitator, monkeypatch):
    monkeypatch.setattr(search, "FACET_IDS_LIMIT", 3)
    for index in range(5):
        structure_create(
            name=f"Compagnie {index}", actor=facilitator, family="association", status=Status.PUBLISHED
        )

    large = structure_search(text="compagnie", per_page=2)
    assert (large.total, large.facets_sample) == (5, 3)
    assert {v.value: v.count for v in large.facets["families"].values} == {"association": 3}
    assert [item.name for item in structure_search(text="compagnie", page=3, per_page=2).items] == [
        "Compagnie 4"
    ]
    html = client.get(reverse("actors:list"), {"q": "compagnie", "territoire": "tous"}).content.decode()
    assert "Nombres comptés sur les 3 premières des 5 structures trouvées." in html

    monkeypatch.setattr(search, "FACET_IDS_LIMIT", 5)
    small = structure_search(text="compagnie")
    assert small.facets_sample == 0
    assert {v.value: v.count for v in small.facets["families"].values} == {"association": 5}
    html = client.get(reverse("actors:list"), {"q": "compagnie", "territoire": "tous"}).content.decode()
    assert "Nombres comptés sur" not in html
