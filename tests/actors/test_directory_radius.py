"""Searches around a point (``actors.search``): the count stops at RADIUS_COUNT_CAP (a dense disc would cost
a read of every card), the total is then shown as a lower bound (« Plus de … structures ») and the pages
stop there; the page sorted by distance stays that of the whole sort. Both engines."""

import pytest
from django.urls import reverse

from essaim.actors import search
from essaim.actors.models import Status, Structure
from essaim.actors.search import Sort, StructureFilters, _distance, structure_queryset, structure_search
from essaim.actors.services import structure_create
from essaim.territories.models import Commune
from tests.factories import FacilitatorFactory

pytestmark = pytest.mark.django_db

TOULOUSE = (43.6045, 1.4440)
RAMONVILLE = (43.5460, 1.4747)  # ~7 km from Toulouse


@pytest.fixture
def facilitator():
    return FacilitatorFactory()


@pytest.fixture
def toulouse(cog_sample):
    Commune.objects.filter(code="31555").update(latitude=TOULOUSE[0], longitude=TOULOUSE[1])
    Commune.objects.filter(code="31446").update(latitude=RAMONVILLE[0], longitude=RAMONVILLE[1])
    return Commune.objects.get(code="31555")


def _card(facilitator, name, **fields):
    return structure_create(
        name=name, actor=facilitator, family="association", status=Status.PUBLISHED, **fields
    )


@pytest.fixture
def eight_points(toulouse, facilitator):
    """Eight cards north of Toulouse, 0.5 to 4 km away (own points), created far ones first."""
    for index in reversed(range(8)):
        _card(
            facilitator,
            f"Point {index}",
            commune=toulouse,
            latitude=TOULOUSE[0] + 0.0045 * (index + 1),
            longitude=TOULOUSE[1],
        )


NEAR = StructureFilters(centre=TOULOUSE, radius_km=10)


def names(result):
    return [item.name for item in result.items]


def test_count_stops_at_the_cap_and_pages_stop_there(eight_points, monkeypatch):
    monkeypatch.setattr(search, "RADIUS_COUNT_CAP", 5)
    first = structure_search(filters=NEAR, per_page=2)
    assert (first.total, first.total_capped, first.num_pages, first.has_next) == (5, True, 3, True)
    assert names(first) == ["Point 0", "Point 1"]
    last = structure_search(filters=NEAR, per_page=2, page=3)
    assert names(last) == ["Point 4", "Point 5"]  # the nearest ones: the cap cuts the pages, not the sort
    assert not last.has_next
    assert structure_search(filters=NEAR, per_page=2, page=9).page == 3
    # Facets are then counted on the first matches, and say so.
    assert first.facets_sample == 5
    assert {value.value: value.count for value in first.facets["families"].values} == {"association": 5}
    assert {value.value: value.count for value in first.facets["departements"].values} == {"31": 5}


def test_below_the_cap_the_total_is_exact(eight_points, monkeypatch):
    monkeypatch.setattr(search, "RADIUS_COUNT_CAP", 8)
    result = structure_search(filters=NEAR, per_page=3, page=3)
    assert (result.total, result.total_capped, result.num_pages) == (8, False, 3)
    assert names(result) == ["Point 6", "Point 7"]
    assert {value.value: value.count for value in result.facets["departements"].values} == {"31": 8}
    # A text search around a point still counts exactly (the cap is for the disc alone).
    monkeypatch.setattr(search, "RADIUS_COUNT_CAP", 2)
    assert structure_search(text="point", filters=NEAR).total_capped is False


def test_order_by_distance_of_the_read_rows_is_that_of_the_database(toulouse, facilitator):
    # Cards without a point of their own share their commune's: ties are broken by name, then id.
    ramonville = Commune.objects.get(code="31446")
    for name in ("Zèbre", "abeille", "Atelier", "Éclat", "Atelier"):
        _card(facilitator, name, commune=ramonville)
    _card(facilitator, "Tout près", commune=ramonville, latitude=TOULOUSE[0] + 0.001, longitude=TOULOUSE[1])
    _card(facilitator, "Au centre", commune=toulouse)
    result = structure_search(filters=NEAR, per_page=20)
    expected = list(
        structure_queryset(filters=NEAR)
        .annotate(distance_km=_distance(TOULOUSE))
        .order_by("distance_km", "name", "pk")
        .values_list("pk", flat=True)
    )
    assert result.sort == Sort.DISTANCE and not result.total_capped
    assert [item.pk for item in result.items] == expected
    assert [item.name for item in result.items][:2] == ["Au centre", "Tout près"]
    assert [round(item.distance_km) for item in result.items] == [0, 0, 7, 7, 7, 7, 7]
    # Another sort goes to the database as before.
    by_name = structure_search(filters=NEAR, sort=Sort.NAME)
    assert [item.name for item in by_name.items] == sorted(Structure.objects.values_list("name", flat=True))


def test_directory_page_shows_a_lower_bound_and_capped_pagination(client, eight_points, monkeypatch):
    monkeypatch.setattr(search, "RADIUS_COUNT_CAP", 5)
    monkeypatch.setattr("essaim.www.actors.views.PAGE_SIZE", 2)
    url = reverse("actors:list")
    params = {"territoire": "tous", "commune": "31555", "rayon": "10"}

    html = client.get(url, params).content.decode()
    assert "Plus de 5 structures — autour de " in html
    assert "Page 1 sur 3 (les 5 premières)" in html
    assert 'page=2" rel="next"' in html and 'rel="prev"' not in html
    assert "Nombres comptés sur les 5 premières des plus de 5 structures trouvées." in html
    assert "Seules les 5 premières structures sont listées" not in html

    last = client.get(url, {**params, "page": "3"}).content.decode()
    assert "Page 3 sur 3 (les 5 premières)" in last
    assert 'rel="next"' not in last and 'page=2" rel="prev"' in last
    assert "Seules les 5 premières structures sont listées" in last
    assert "Point 5" in last and "Point 6" not in last

    typed = client.get(url, params, headers={"HX-Request": "true"}).content.decode()
    assert "Plus de 5 structures trouvées" in typed


def test_directory_page_exact_count_below_the_cap(client, eight_points):
    html = client.get(
        reverse("actors:list"), {"territoire": "tous", "commune": "31555", "rayon": "10"}
    ).content.decode()
    assert "8 structures" in html and "Plus de" not in html and "premières" not in html


def test_lower_bound_is_written_the_french_way(eight_points, monkeypatch, client):
    monkeypatch.setattr(search, "RADIUS_COUNT_CAP", 5)
    result = structure_search(filters=NEAR)
    result.total = 1000  # the wording of a cap of 1 000, without creating 1 001 cards
    from django.template.loader import render_to_string

    html = render_to_string(
        "actors/_structure_results.html",
        {"result": result, "query": "", "perimeter": None, "centre_commune": None, "text": "", "facets": []},
    )
    assert "Plus de 1\u00a0000 structures" in html or "Plus de 1\u202f000 structures" in html
