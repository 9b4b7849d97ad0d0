"""Full-text search of the directory (``actors.search``) and the directory page built on it: stemming,
accents, typos, filters, distance, sorting, facets, pagination, and an index kept fresh by every write path.
Runs on both engines (SQLite FTS5, PostgreSQL full-text)."""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from essaim.actors.duplicates import structures_merge
from essaim.actors.importers.sirene import sirene_import
from essaim.actors.legal_categories import legal_categories_load
from essaim.actors.models import Label, Status, Structure, Theme
from essaim.actors.search import Sort, StructureFilters, structure_search, structures_reindex
from essaim.actors.services import structure_create, structure_update
from essaim.territories.models import Commune
from essaim.territories.services import perimeter_save
from tests.actors.sirene_rows import UNIT_HEADER, unit, write_csv
from tests.factories import FacilitatorFactory, StructureFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("actors:list")
POINTS = {
    "31555": (43.6045, 1.4440),  # Toulouse
    "31446": (43.5460, 1.4747),  # Ramonville-Saint-Agne, ~7 km from Toulouse
    "31113": (43.5161, 1.4986),  # Castanet-Tolosan, ~11 km
    "81065": (43.6060, 2.2400),  # Castres, ~64 km
}


def names(result):
    return [structure.name for structure in result.items]


def found(text, **kwargs):
    return sorted(names(structure_search(text=text, per_page=100, **kwargs)))


@pytest.fixture
def communes(cog_sample):
    for code, (lat, lon) in POINTS.items():
        Commune.objects.filter(code=code).update(latitude=lat, longitude=lon)
    return {code: Commune.objects.get(code=code) for code in POINTS}


@pytest.fixture
def facilitator():
    return FacilitatorFactory()


def create(facilitator, name, **card):
    card.setdefault("family", "association")
    card.setdefault("status", Status.PUBLISHED)
    return structure_create(name=name, actor=facilitator, **card)


# -- text -----------------------------------------------------------------------------------------------


def test_french_stemming_accents_and_case(facilitator):
    create(facilitator, "Recyclerie des Ateliers de Castres")
    create(facilitator, "Ozon, coopérative d'activités", family="cooperative", cooperative_kind="cae")
    create(facilitator, "Épicerie solidaire du Bourg")

    assert found("recyclerie") == ["Recyclerie des Ateliers de Castres"]
    assert found("coopératives") == ["Ozon, coopérative d'activités"]
    assert found("COOPERATIVE") == ["Ozon, coopérative d'activités"]
    assert found("atelier") == ["Recyclerie des Ateliers de Castres"]
    assert found("epicerie SOLIDAIRES") == ["Épicerie solidaire du Bourg"]
    # Every word must match.
    assert found("recyclerie solidaire") == []


def test_every_indexed_field_is_searchable(facilitator, cog_sample):
    theme = Theme.objects.create(slug="alimentation", label="Alimentation durable")
    label = Label.objects.create(slug="ptce", label="Pôle territorial de coopération")
    create(
        facilitator,
        "Les Jades",
        acronym="JADES",
        description="Maraîchage biologique et paniers.",
        naf_label="Culture de légumes",
        commune=Commune.objects.get(code="81065"),
        themes=[theme],
        labels=[label],
    )
    create(facilitator, "Autre structure")
    for text in ("jades", "maraichage", "paniers", "légumes", "castres", "alimentation", "territorial"):
        assert found(text) == ["Les Jades"], text


def test_last_word_is_a_prefix_and_typos_in_names_are_tolerated(facilitator):
    create(facilitator, "La Rafistolerie")
    create(facilitator, "Recyclerie des Ateliers de Castres")

    assert found("rafis") == ["La Rafistolerie"]
    exact = structure_search(text="recyclerie")
    assert not exact.approximate
    typo = structure_search(text="recylerie")
    assert names(typo) == ["Recyclerie des Ateliers de Castres"]
    assert typo.approximate
    assert structure_search(text="zzzzqqqq").total == 0


def test_only_published_cards_unless_another_queryset_is_given(facilitator):
    create(facilitator, "Recyclerie publiée")
    create(facilitator, "Recyclerie brouillon", status=Status.DRAFT)
    assert found("recyclerie") == ["Recyclerie publiée"]
    assert found("recyclerie", queryset=Structure.objects.all()) == [
        "Recyclerie brouillon",
        "Recyclerie publiée",
    ]


# -- filters, distance, sorting, facets, pagination -------------------------------------------------------


def test_filters_by_family_theme_label_territory_and_headcount(facilitator, communes):
    theme = Theme.objects.create(slug="reemploi", label="Réemploi")
    label = Label.objects.create(slug="cress", label="Membre de la CRESS")
    create(facilitator, "A Toulouse", commune=communes["31555"], themes=[theme], headcount_band="11")
    create(
        facilitator,
        "B Castanet",
        commune=communes["31113"],
        labels=[label],
        family="mutuelle",
        headcount_band="01",
    )
    create(facilitator, "C Castres", commune=communes["81065"], themes=[theme], labels=[label])

    def only(**filters):
        return sorted(names(structure_search(filters=StructureFilters(**filters))))

    assert only(families=("mutuelle",)) == ["B Castanet"]
    assert only(themes=("reemploi",)) == ["A Toulouse", "C Castres"]
    assert only(labels=("cress",)) == ["B Castanet", "C Castres"]
    assert only(themes=("reemploi",), labels=("cress",)) == ["C Castres"]
    assert only(communes=("31113",)) == ["B Castanet"]
    assert only(epcis=("243100633",)) == ["B Castanet"]
    assert only(departements=("81",)) == ["C Castres"]
    assert only(departements=("31",)) == ["A Toulouse", "B Castanet"]
    assert only(headcount_bands=("11", "12")) == ["A Toulouse"]
    perimeter = perimeter_save(slug="tarn", name="Tarn", kind="custom", departement_codes=["81"])
    assert only(perimeter=perimeter) == ["C Castres"]
    assert only(perimeter=perimeter.pk, families=("mutuelle",)) == []
    # Text with a territory (SQLite then walks the territory first).
    assert names(structure_search(text="castanet", filters=StructureFilters(departements=("31",)))) == [
        "B Castanet"
    ]
    assert names(structure_search(text="castanet", filters=StructureFilters(perimeter=perimeter))) == []
    assert names(structure_search(text="castres", filters=StructureFilters(perimeter=perimeter))) == [
        "C Castres"
    ]
    with pytest.raises(ValueError, match="Filtre inconnu"):
        only(extra={"has_offers": True})


def test_distance_from_a_point_with_the_commune_point_as_fallback(facilitator, communes):
    create(facilitator, "Ramonville (point de la commune)", commune=communes["31446"])
    # Its own point near Castanet, although its commune is Castres.
    create(facilitator, "Point propre", commune=communes["81065"], latitude=43.5161, longitude=1.4986)
    create(facilitator, "Castres", commune=communes["81065"])
    create(facilitator, "Sans commune ni point")
    toulouse = POINTS["31555"]

    near = structure_search(filters=StructureFilters(centre=toulouse, radius_km=20))
    assert near.sort == Sort.DISTANCE
    assert names(near) == ["Ramonville (point de la commune)", "Point propre"]
    assert [round(item.distance_km) for item in near.items] == [7, 11]
    assert names(structure_search(filters=StructureFilters(centre=toulouse, radius_km=8))) == [
        "Ramonville (point de la commune)"
    ]
    assert structure_search(filters=StructureFilters(centre=toulouse, radius_km=100)).total == 3


def test_sorting_by_relevance_name_and_newest(facilitator):
    create(
        facilitator,
        "Zèbre",
        description="Un long texte sur la culture, le sport et un jardin parmi d'autres.",
    )
    create(facilitator, "Jardin partagé des Lilas", description="Jardin potager.")
    create(facilitator, "Abeille")

    assert names(structure_search(text="jardin")) == ["Jardin partagé des Lilas", "Zèbre"]
    assert names(structure_search(text="jardin", sort=Sort.NAME)) == ["Jardin partagé des Lilas", "Zèbre"]
    assert names(structure_search(sort=Sort.NAME)) == ["Abeille", "Jardin partagé des Lilas", "Zèbre"]
    assert names(structure_search(sort=Sort.NEWEST)) == ["Abeille", "Jardin partagé des Lilas", "Zèbre"]
    # Relevance without text and distance without centre fall back on the name.
    assert structure_search(sort=Sort.RELEVANCE).sort == Sort.NAME
    assert structure_search(sort=Sort.DISTANCE).sort == Sort.NAME


def test_facets_count_the_whole_selection(facilitator, communes):
    theme = Theme.objects.create(slug="test-culture", label="Culture")
    for index in range(3):
        create(facilitator, f"Compagnie {index}", commune=communes["31555"], themes=[theme])
    create(
        facilitator,
        "Compagnie coopérative",
        family="cooperative",
        cooperative_kind="scop",
        commune=communes["81065"],
    )
    create(facilitator, "Autre chose", family="mutuelle")

    result = structure_search(
        text="compagnie", per_page=2, filters=StructureFilters(families=("association",))
    )
    assert result.total == 3 and len(result.items) == 2
    facets = {
        name: {v.value: (v.count, v.selected) for v in facet.values} for name, facet in result.facets.items()
    }
    assert facets["families"] == {"association": (3, True)}
    assert facets["themes"] == {"test-culture": (3, False)}
    assert facets["departements"] == {"31": (3, False)}
    everything = structure_search(text="compagnie")
    counts = {v.value: v.count for v in everything.facets["families"].values}
    assert counts == {"association": 3, "cooperative": 1}
    assert {v.value: v.label for v in everything.facets["departements"].values} == {
        "31": "Haute-Garonne (31)",
        "81": "Tarn (81)",
    }


def test_pagination(facilitator):
    for index in range(5):
        create(facilitator, f"Structure {index}")
    second = structure_search(sort=Sort.NAME, page=2, per_page=2)
    assert names(second) == ["Structure 2", "Structure 3"]
    assert (second.total, second.num_pages, second.has_previous, second.has_next) == (5, 3, True, True)
    beyond = structure_search(sort=Sort.NAME, page=99, per_page=2)
    assert beyond.page == 3 and names(beyond) == ["Structure 4"]
    ranked = structure_search(text="structure", page=3, per_page=2)
    assert len(ranked.items) == 1 and ranked.total == 5


# -- index freshness ------------------------------------------------------------------------------------


def test_index_follows_services_updates_and_theme_changes(facilitator, communes):
    structure = create(facilitator, "Le Local")
    assert found("local") == ["Le Local"]

    structure_update(structure=structure, actor=facilitator, name="La Fabrique", commune=communes["81065"])
    assert found("local") == []
    assert found("fabrique") == ["La Fabrique"]
    assert found("castres") == ["La Fabrique"]

    theme = Theme.objects.create(slug="test-numerique", label="Numérique")
    structure_update(structure=structure, actor=facilitator, themes=[theme])
    assert found("numérique") == ["La Fabrique"]
    structure_update(structure=structure, actor=facilitator, themes=[])
    assert found("numérique") == []


def test_index_follows_a_merge(facilitator):
    theme = Theme.objects.create(slug="test-mobilite", label="Mobilité")
    keep = create(facilitator, "Atelier Vélo")
    remove = create(facilitator, "Vélo Solidaire", themes=[theme])
    structures_merge(keep=keep, remove=remove, field_choices={"name": "remove"}, actor=facilitator)

    assert found("mobilité") == ["Vélo Solidaire"]
    assert Structure.objects.get(pk=remove.pk).status == Status.ARCHIVED
    assert found("solidaire") == ["Vélo Solidaire"]


def test_index_follows_the_sirene_import(tmp_path):
    path = tmp_path / "categories.csv"
    path.write_text("code;libelle\n9220;Association déclarée\n", encoding="utf-8")
    legal_categories_load(path=path)
    rows = [unit("775672272", "RESSOURCERIE DU CANAL", "9220")]
    sirene_import(path=write_csv(tmp_path / "v1.csv", UNIT_HEADER, rows))
    drafts = Structure.objects.all()
    assert found("ressourceries", queryset=drafts) == ["RESSOURCERIE DU CANAL"]

    rows = [unit("775672272", "RECYCLERIE DU CANAL", "9220")]
    sirene_import(path=write_csv(tmp_path / "v2.csv", UNIT_HEADER, rows))
    assert found("ressourcerie", queryset=drafts) == []
    assert found("recyclerie canal", queryset=drafts) == ["RECYCLERIE DU CANAL"]


def test_reindex_command_repairs_a_stale_index(facilitator):
    structure = create(facilitator, "Le Périscope")
    # A write outside the services (e.g. a raw SQL fix) leaves the document stale.
    Structure.objects.filter(pk=structure.pk).update(name="Le Kaléidoscope")
    assert found("kaleidoscope") == []
    out = io.StringIO()
    call_command("search_reindex", stdout=out)
    assert "Index de recherche reconstruit" in out.getvalue()
    assert found("kaleidoscope") == ["Le Kaléidoscope"]


# -- directory page -------------------------------------------------------------------------------------


def test_directory_page_searches_filters_and_shows_facets(client, facilitator, communes):
    theme = Theme.objects.create(slug="reemploi", label="Réemploi")
    create(facilitator, "Recyclerie des Ateliers de Castres", commune=communes["81065"], themes=[theme])
    create(
        facilitator,
        "Ressourcerie toulousaine",
        commune=communes["31555"],
        themes=[theme],
        headcount_band="12",
    )
    create(facilitator, "Café associatif", commune=communes["31555"])

    html = client.get(LIST_URL, {"q": "recycleries"}).content.decode()
    assert "Recyclerie des Ateliers de Castres" in html and "Ressourcerie" not in html
    assert "1 structure" in html

    html = client.get(LIST_URL, {"thematique": "reemploi"}).content.decode()
    assert "Recyclerie des Ateliers" in html and "Ressourcerie toulousaine" in html and "Café" not in html
    assert 'name="thematique" value="reemploi"' in html and "checked" in html
    assert 'Réemploi <span class="facet__count">(2)</span>' in html
    assert 'Tarn (81) <span class="facet__count">(1)</span>' in html

    html = client.get(LIST_URL, {"effectif": "10-49"}).content.decode()
    assert "Ressourcerie toulousaine" in html and "Café" not in html

    html = client.get(LIST_URL, {"commune": "Toulouse", "rayon": "20", "tri": "distance"}).content.decode()
    assert "autour de Toulouse" in html
    assert "Ressourcerie toulousaine" in html and "Castres" not in html.split("resultats-titre")[1]
    assert "à 0.0 km" in html or "à 0,0 km" in html

    html = client.get(LIST_URL, {"commune": "Nulle-Part-sur-Mer"}).content.decode()
    assert "Aucune commune ne correspond" in html


def test_directory_htmx_fragment_swaps_facets_and_announces_the_count(client, facilitator):
    create(facilitator, "Totocar")
    response = client.get(LIST_URL, {"q": "toto"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="facettes" class="facets" hx-swap-oob="true"' in html
    assert "1 structure trouvée" in html


def test_directory_typo_is_announced(client, facilitator):
    create(facilitator, "Recyclerie des Ateliers de Castres")
    html = client.get(LIST_URL, {"q": "recylerie"}).content.decode()
    assert "résultats approchants" in html and "Recyclerie des Ateliers de Castres" in html


def test_export_takes_the_whole_selection_not_one_page(client, facilitator):
    from essaim.www.actors.views import PAGE_SIZE

    for index in range(PAGE_SIZE + 2):
        create(facilitator, f"Jardin {index:02d}")
    create(facilitator, "Autre")
    response = client.get(reverse("actors:export", args=["csv"]), {"q": "jardin", "page": "2"})
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content), delimiter=";"))
    assert len(rows) == PAGE_SIZE + 2


def test_factory_cards_are_indexed_too():
    StructureFactory(name="Fabrique de territoire")
    assert found("fabriques") == ["Fabrique de territoire"]


@pytest.mark.django_db
def test_reindexing_many_ids_goes_by_chunks_and_misses_none(monkeypatch):
    monkeypatch.setattr("essaim.actors.search.REINDEX_IDS_CHUNK", 2)
    theme = Theme.objects.get(slug="culture")
    structures = [StructureFactory(name=f"Maison {n}", status=Status.PUBLISHED) for n in range(5)]
    for structure in structures:
        structure.themes.add(theme)  # bypasses the services: documents are now stale
    assert structure_search(text="culture").total == 0

    structures_reindex(ids=[structure.pk for structure in structures])

    assert structure_search(text="culture").total == 5
