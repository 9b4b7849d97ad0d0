"""The clustering service behind the map: what it answers for a viewport."""

import random

import pytest

from essaim.actors.geo import (
    AGGREGATE_LEVELS,
    MAX_FEATURES,
    BBox,
    Cluster,
    Point,
    map_sync,
    structure_clusters,
)
from essaim.actors.models import Structure
from essaim.core.text import normalize
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db

FRANCE = BBox(-5.2, 41.3, 9.6, 51.1)
WORLD = BBox(-180, -90, 180, 90)


def spread_structures(count: int, *, seed: int = 3, status: str = "published", family="association") -> list:
    """``count`` structures at random points over France, written in bulk then put on the map."""
    rng = random.Random(seed)
    created = Structure.objects.bulk_create(
        Structure(
            name=f"Structure {status} {seed} {i}",
            slug=f"structure-{status}-{seed}-{i}",
            search_name=normalize(f"Structure {status} {seed} {i}"),
            family=family,
            status=status,
            latitude=rng.uniform(42.0, 51.0),
            longitude=rng.uniform(-4.5, 8.0),
        )
        for i in range(count)
    )
    map_sync(structure_ids=[structure.pk for structure in created])
    return created


def published_points(*, family: str = "", text: str = "", perimeter=None) -> list[tuple[float, float]]:
    """Points (own, else the commune's) of the published structures matching the filters: computed from the
    cards themselves, not from the map's snapshot or cells."""
    qs = Structure.objects.filter(status="published").select_related("commune")
    if family:
        qs = qs.filter(family=family)
    if text:
        qs = qs.search(text)
    if perimeter is not None:
        qs = qs.in_perimeter(perimeter)
    return [structure.point for structure in qs if structure.point]


def direct_count(area: BBox, points=None, **filters) -> int:
    """How many of ``points`` (default: ``published_points(**filters)``) lie in ``area``."""
    points = published_points(**filters) if points is None else points
    return sum(
        1
        for latitude, longitude in points
        if area.south <= latitude <= area.north and area.west <= longitude <= area.east
    )


def random_viewport(rng: random.Random) -> tuple[BBox, int]:
    zoom = rng.randint(3, 20)
    lat, lon = rng.uniform(42.0, 51.0), rng.uniform(-4.5, 8.0)
    half_width = 640 * 360 / (256 * 2**zoom)
    half_height = half_width * 0.5
    bbox = BBox(
        max(-180, lon - half_width),
        max(-90, lat - half_height),
        min(180, lon + half_width),
        min(90, lat + half_height),
    )
    return bbox, zoom


def test_counts_add_up_to_the_published_structures_of_the_area_covered(communes):
    spread_structures(300)
    spread_structures(40, status="draft")
    outside = StructureFactory(latitude=-21.1, longitude=55.5)  # La Réunion, outside the bbox

    answer = structure_clusters(bbox=FRANCE, zoom=6, filters={})

    assert any(isinstance(feature, Cluster) for feature in answer.features)
    assert answer.total == direct_count(answer.covered) == 300
    covered = answer.covered
    assert covered.west <= FRANCE.west and covered.east >= FRANCE.east
    assert covered.south <= FRANCE.south and covered.north >= FRANCE.north
    assert outside.pk not in {f.id for f in answer.features if isinstance(f, Point)}
    assert structure_clusters(bbox=WORLD, zoom=2, filters={}).total == 301


def test_any_viewport_counts_match_a_direct_count_and_stay_under_the_cap(communes):
    spread_structures(1500, seed=5)
    spread_structures(200, seed=6, family="mutuelle")
    # Stacks on commune points, as most imported cards are.
    Structure.objects.bulk_create(
        Structure(
            name=f"Sur Castres {i}",
            slug=f"sur-castres-{i}",
            search_name=f"sur castres {i}",
            family="association",
            status="published",
            commune=communes["castres"],
        )
        for i in range(450)
    )
    map_sync(structure_ids=Structure.objects.values_list("pk", flat=True))
    rng = random.Random(11)
    viewports = [random_viewport(rng) for _ in range(25)]
    viewports += [(BBox(2.2, 43.59, 2.28, 43.62), zoom) for zoom in (12, 16, 18, 20)]  # on the Castres stack

    points = {family: published_points(family=family) for family in ("", "mutuelle")}

    for bbox, zoom in viewports:
        for family in ("", "mutuelle"):
            answer = structure_clusters(bbox=bbox, zoom=zoom, filters={"family": family})
            assert len(answer.features) <= MAX_FEATURES, (bbox, zoom)
            assert answer.total == direct_count(answer.covered, points[family]), (bbox, zoom, family)
            if all(isinstance(feature, Point) for feature in answer.features):
                assert answer.covered == bbox


def test_never_more_than_400_features_with_5000_structures_spread_out(communes):
    spread_structures(5000)

    for zoom, bbox in [(0, WORLD), (5, FRANCE), (8, FRANCE), (13, FRANCE), (20, FRANCE)]:
        answer = structure_clusters(bbox=bbox, zoom=zoom, filters={})
        assert len(answer.features) <= MAX_FEATURES, zoom
        assert answer.total == 5000, zoom


def test_street_level_above_the_precomputed_levels_is_grouped_live(communes):
    # 600 structures in a few hundred metres: more than MAX_FEATURES, so clusters even at zoom 19.
    rng = random.Random(2)
    created = Structure.objects.bulk_create(
        Structure(
            name=f"Rue {i}",
            slug=f"rue-{i}",
            search_name=f"rue {i}",
            family="association",
            status="published",
            latitude=43.6 + rng.uniform(0, 0.003),
            longitude=2.24 + rng.uniform(0, 0.004),
        )
        for i in range(600)
    )
    map_sync(structure_ids=[structure.pk for structure in created])
    bbox = BBox(2.2395, 43.5995, 2.2445, 43.6035)

    coarse = structure_clusters(bbox=bbox, zoom=AGGREGATE_LEVELS, filters={})
    fine = structure_clusters(bbox=bbox, zoom=19, filters={})

    assert coarse.total == fine.total == 600
    assert len(fine.features) > len(coarse.features)
    assert len(fine.features) <= MAX_FEATURES


def test_high_zoom_gives_individual_points(communes):
    spread_structures(200)
    bbox = BBox(-4.5, 42.0, 8.0, 51.0)

    low = structure_clusters(bbox=bbox, zoom=5, filters={})
    high = structure_clusters(bbox=bbox, zoom=14, filters={})

    assert any(isinstance(feature, Cluster) for feature in low.features)
    assert len(high.features) == 200
    assert all(isinstance(feature, Point) for feature in high.features)
    assert {feature.slug for feature in high.features} == set(
        Structure.objects.values_list("slug", flat=True)
    )


def test_points_are_exactly_those_of_the_bbox(communes):
    inside = StructureFactory(name="Dedans", latitude=43.60, longitude=2.24)
    StructureFactory(name="Juste à côté", latitude=43.60, longitude=2.2601)  # same grid cell, outside

    answer = structure_clusters(bbox=BBox(2.23, 43.59, 2.26, 43.61), zoom=9, filters={})

    assert [feature.id for feature in answer.features] == [inside.pk]


def test_few_structures_are_points_at_any_zoom(communes):
    structure = StructureFactory(name="La Rafistolerie", latitude=43.6, longitude=2.24)

    [feature] = structure_clusters(bbox=FRANCE, zoom=3, filters={}).features

    assert feature == Point(
        id=structure.pk,
        name="La Rafistolerie",
        slug=structure.slug,
        latitude=43.6,
        longitude=2.24,
        commune_name="",
    )


def test_a_cell_with_one_structure_is_that_structure(communes):
    spread_structures(100)
    lonely = StructureFactory(name="Tout seul", latitude=48.0, longitude=-30.0)  # mid-Atlantic

    features = structure_clusters(bbox=WORLD, zoom=3, filters={}).features

    assert [f.name for f in features if isinstance(f, Point)] == ["Tout seul"]
    assert lonely.pk in {f.id for f in features if isinstance(f, Point)}


def test_unpublished_structures_are_never_shown(communes):
    for status in ("draft", "pending", "archived"):
        StructureFactory(status=status, latitude=43.6, longitude=2.24)
    spread_structures(60, status="pending")

    for zoom in (3, 10, 16, 19):
        assert structure_clusters(bbox=FRANCE, zoom=zoom, filters={}).features == []


def test_the_commune_point_stands_in_for_a_structure_without_its_own(communes):
    in_castres = StructureFactory(commune=communes["castres"])
    StructureFactory(commune=communes["nowhere"])  # no point at all: not on the map
    StructureFactory(commune=None)

    features = structure_clusters(bbox=FRANCE, zoom=10, filters={}).features

    assert [(f.id, f.latitude, f.longitude, f.commune_name) for f in features] == [
        (in_castres.pk, 43.6060, 2.2410, "Castres")
    ]


def test_clusters_of_one_commune_are_named_after_it(communes):
    for _ in range(60):
        StructureFactory(commune=communes["castres"])
    for _ in range(60):
        StructureFactory(commune=communes["albi"])
    StructureFactory(latitude=43.92, longitude=2.15)  # near Albi, no commune: that cluster has no name

    features = structure_clusters(bbox=BBox(1.5, 43.3, 2.8, 44.2), zoom=9, filters={}).features

    assert sorted((f.commune_name, f.count) for f in features) == [("", 61), ("Castres", 60)]


def test_filters_are_the_directory_ones(communes, tarn):
    StructureFactory(
        name="Recyclerie de Castres",
        commune=communes["castres"],
        family="cooperative",
        cooperative_kind="scop",
    )
    StructureFactory(
        name="Recyclerie d'Albi", commune=communes["albi"], family="cooperative", cooperative_kind="scop"
    )
    StructureFactory(name="Café de Castres", commune=communes["castres"], family="association")

    def names(**filters):
        return sorted(f.name for f in structure_clusters(bbox=FRANCE, zoom=8, filters=filters).features)

    assert names(text="recyclerie") == ["Recyclerie d'Albi", "Recyclerie de Castres"]
    assert names(family="association") == ["Café de Castres"]
    assert names(perimeter=tarn) == ["Café de Castres", "Recyclerie de Castres"]
    assert names(perimeter=tarn.pk, family="cooperative", text="RECYCLERIE") == ["Recyclerie de Castres"]


def test_text_and_perimeter_filters_cluster_live_with_right_counts(communes, tarn):
    spread_structures(300, seed=8)
    for index in range(80):
        StructureFactory(name=f"Recyclerie {index}", commune=communes["castres"])
    for index in range(70):
        StructureFactory(name=f"Recyclerie d'Albi {index}", commune=communes["albi"])

    for filters in ({"text": "recyclerie"}, {"perimeter": tarn}, {"perimeter": tarn, "text": "recyclerie"}):
        for bbox, zoom in [(FRANCE, 5), (BBox(1.5, 43.3, 2.8, 44.2), 9), (WORLD, 1)]:
            answer = structure_clusters(bbox=bbox, zoom=zoom, filters=filters)
            assert len(answer.features) <= MAX_FEATURES
            assert answer.total == direct_count(answer.covered, **filters), (filters, zoom)
    assert structure_clusters(bbox=FRANCE, zoom=5, filters={"text": "recyclerie"}).total == 150
    assert structure_clusters(bbox=FRANCE, zoom=5, filters={"perimeter": tarn}).total == 80


@pytest.mark.parametrize("bbox,zoom", [(BBox(10, 40, 5, 50), 5), (BBox(-200, 40, 5, 50), 5), (FRANCE, 21)])
def test_out_of_range_input_is_refused(bbox, zoom):
    with pytest.raises(ValueError):
        structure_clusters(bbox=bbox, zoom=zoom, filters={})


def test_wide_viewports_with_text_or_perimeter_read_a_bounded_number_of_structures(
    communes, tarn, monkeypatch
):
    from essaim.actors import geo

    spread_structures(120, seed=9)
    for index in range(30):
        StructureFactory(name=f"Recyclerie {index}", commune=communes["castres"], family="mutuelle")
    for index in range(20):
        StructureFactory(name=f"Café {index}", commune=communes["castres"])
    for index in range(25):
        StructureFactory(name=f"Recyclerie d'Albi {index}", commune=communes["albi"])
    monkeypatch.setattr(geo, "LIVE_SCAN_MAX", 90)  # France holds 195 structures: too many to read.

    # A perimeter alone: per-commune aggregates, each commune's structures at their centroid.
    answer = structure_clusters(bbox=FRANCE, zoom=5, filters={"perimeter": tarn})
    assert [(f.count, f.commune_name) for f in answer.features] == [(50, "Castres")]
    answer = structure_clusters(bbox=FRANCE, zoom=5, filters={"perimeter": tarn, "family": ["mutuelle"]})
    assert [(f.count, f.commune_name) for f in answer.features] == [(30, "Castres")]
    # Text within a perimeter small enough: read through the perimeter's communes.
    answer = structure_clusters(bbox=FRANCE, zoom=5, filters={"perimeter": tarn, "text": "recyclerie"})
    assert answer.total == 30 and not answer.message
    # Text alone over too many structures: nothing, and a French message saying what to do.
    answer = structure_clusters(bbox=FRANCE, zoom=5, filters={"text": "recyclerie"})
    assert answer.features == [] and "zoomez" in answer.message
    # Zoomed in, the same filter is answered again.
    answer = structure_clusters(bbox=BBox(2.0, 43.5, 2.4, 44.0), zoom=9, filters={"text": "recyclerie"})
    assert answer.total == 55 and not answer.message


def test_several_families_at_once(communes):
    spread_structures(100, seed=1, family="association")
    spread_structures(70, seed=2, family="mutuelle")
    spread_structures(40, seed=3, family="fondation")

    answer = structure_clusters(bbox=FRANCE, zoom=5, filters={"family": ["mutuelle", "fondation"]})

    assert answer.total == 110
    assert any(isinstance(feature, Cluster) for feature in answer.features)
