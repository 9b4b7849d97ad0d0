"""The clustering service behind the map."""

import random

import pytest

from essaim.actors.geo import MAX_FEATURES, BBox, Cluster, Point, structure_clusters
from essaim.actors.models import Structure
from essaim.core.text import normalize
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db

FRANCE = BBox(-5.2, 41.3, 9.6, 51.1)
WORLD = BBox(-180, -90, 180, 90)


def total(features) -> int:
    return sum(feature.count if isinstance(feature, Cluster) else 1 for feature in features)


def spread_structures(count: int, *, seed: int = 3, status: str = "published") -> None:
    rng = random.Random(seed)
    Structure.objects.bulk_create(
        Structure(
            name=f"Structure {status} {i}",
            slug=f"structure-{status}-{i}",
            search_name=normalize(f"Structure {status} {i}"),
            family="association",
            status=status,
            latitude=rng.uniform(42.0, 51.0),
            longitude=rng.uniform(-4.5, 8.0),
        )
        for i in range(count)
    )


def test_counts_add_up_to_the_published_structures_in_the_bbox(communes):
    spread_structures(300)
    spread_structures(40, status="draft")
    outside = StructureFactory(latitude=-21.1, longitude=55.5)  # La Réunion, outside the bbox

    features = structure_clusters(bbox=FRANCE, zoom=6, filters={})

    assert any(isinstance(feature, Cluster) for feature in features)
    assert total(features) == 300
    assert outside.pk not in {feature.id for feature in features if isinstance(feature, Point)}
    assert total(structure_clusters(bbox=WORLD, zoom=2, filters={})) == 301


def test_never_more_than_400_features_with_5000_structures_spread_out(communes):
    spread_structures(5000)

    for zoom, bbox in [(0, WORLD), (5, FRANCE), (8, FRANCE), (13, FRANCE), (20, FRANCE)]:
        features = structure_clusters(bbox=bbox, zoom=zoom, filters={})
        assert len(features) <= MAX_FEATURES, zoom
        assert total(features) == 5000, zoom


def test_high_zoom_gives_individual_points(communes):
    spread_structures(200)
    bbox = BBox(-4.5, 42.0, 8.0, 51.0)

    low = structure_clusters(bbox=bbox, zoom=5, filters={})
    high = structure_clusters(bbox=bbox, zoom=14, filters={})

    assert any(isinstance(feature, Cluster) for feature in low)
    assert len(high) == 200
    assert all(isinstance(feature, Point) for feature in high)
    assert {feature.slug for feature in high} == set(Structure.objects.values_list("slug", flat=True))


def test_few_structures_are_points_at_any_zoom(communes):
    structure = StructureFactory(name="La Rafistolerie", latitude=43.6, longitude=2.24)

    [feature] = structure_clusters(bbox=FRANCE, zoom=3, filters={})

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

    features = structure_clusters(bbox=WORLD, zoom=3, filters={})

    assert [f.name for f in features if isinstance(f, Point)] == ["Tout seul"]
    assert lonely.pk in {f.id for f in features if isinstance(f, Point)}


def test_unpublished_structures_are_never_shown(communes):
    for status in ("draft", "pending", "archived"):
        StructureFactory(status=status, latitude=43.6, longitude=2.24)
    spread_structures(60, status="pending")

    for zoom in (3, 10, 16):
        assert structure_clusters(bbox=FRANCE, zoom=zoom, filters={}) == []


def test_the_commune_point_stands_in_for_a_structure_without_its_own(communes):
    in_castres = StructureFactory(commune=communes["castres"])
    StructureFactory(commune=communes["nowhere"])  # no point at all: not on the map
    StructureFactory(commune=None)

    features = structure_clusters(bbox=FRANCE, zoom=10, filters={})

    assert [(f.id, f.latitude, f.longitude, f.commune_name) for f in features] == [
        (in_castres.pk, 43.6060, 2.2410, "Castres")
    ]


def test_clusters_of_one_commune_are_named_after_it(communes):
    for _ in range(60):
        StructureFactory(commune=communes["castres"])
    for _ in range(60):
        StructureFactory(commune=communes["albi"])

    features = structure_clusters(bbox=BBox(1.5, 43.3, 2.8, 44.2), zoom=9, filters={})

    assert sorted((f.commune_name, f.count) for f in features) == [("Albi", 60), ("Castres", 60)]


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
        return sorted(f.name for f in structure_clusters(bbox=FRANCE, zoom=8, filters=filters))

    assert names(text="recyclerie") == ["Recyclerie d'Albi", "Recyclerie de Castres"]
    assert names(family="association") == ["Café de Castres"]
    assert names(perimeter=tarn) == ["Café de Castres", "Recyclerie de Castres"]
    assert names(perimeter=tarn.pk, family="cooperative", text="RECYCLERIE") == ["Recyclerie de Castres"]


@pytest.mark.parametrize("bbox,zoom", [(BBox(10, 40, 5, 50), 5), (BBox(-200, 40, 5, 50), 5), (FRANCE, 21)])
def test_out_of_range_input_is_refused(bbox, zoom):
    with pytest.raises(ValueError):
        structure_clusters(bbox=bbox, zoom=zoom, filters={})
