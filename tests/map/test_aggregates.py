"""The map's precomputed cells follow every write path and equal a rebuild from scratch."""

import pytest
from django.core.management import call_command
from django.db import connection

from essaim.actors import services
from essaim.actors.duplicates import structures_merge
from essaim.actors.geo import BBox, map_reindex, structure_clusters
from essaim.actors.importers.sirene import sirene_import
from essaim.actors.legal_categories import legal_categories_load
from essaim.actors.models import MapCell, Structure
from tests.actors.sirene_rows import (
    ESTABLISHMENT_HEADER,
    SIREN_ASSO,
    UNIT_HEADER,
    establishment,
    unit,
    write_csv,
)
from tests.factories import FacilitatorFactory
from tests.map.test_geo import FRANCE, direct_count, spread_structures

pytestmark = pytest.mark.django_db

NEAR_CASTRES = BBox(2.2, 43.58, 2.3, 43.64)


def cells() -> dict:
    return {
        (cell.level, cell.code, cell.family): cell
        for cell in MapCell.objects.order_by("level", "code", "family")
    }


def assert_cells_equal_a_rebuild() -> None:
    """The incrementally kept cells have the same counts and sums as a rebuild, and extents that contain the
    rebuilt ones (an extent only grows until the next rebuild); the snapshots needed no fix."""
    kept = cells()
    result = map_reindex()
    rebuilt = cells()
    assert result["structures"] == 0
    assert set(kept) == set(rebuilt)
    for key, cell in rebuilt.items():
        old = kept[key]
        exact = ("count", "sum_id", "commune_count", "sum_commune", "sum_commune_sq")
        assert [getattr(old, name) for name in exact] == [getattr(cell, name) for name in exact], key
        assert old.sum_lat == pytest.approx(cell.sum_lat, abs=1e-6)
        assert old.sum_lon == pytest.approx(cell.sum_lon, abs=1e-6)
        assert old.west <= cell.west and old.south <= cell.south, key
        assert old.east >= cell.east and old.north >= cell.north, key


def map_total() -> int:
    answer = structure_clusters(bbox=FRANCE, zoom=5, filters={})
    assert answer.total == direct_count(answer.covered)
    return answer.total


@pytest.fixture
def facilitator(db):
    return FacilitatorFactory()


def test_service_writes_keep_the_cells_right(communes, facilitator):
    spread_structures(120)
    created = services.structure_create(
        name="Atelier vélo", family="association", actor=facilitator, commune=communes["castres"]
    )
    assert map_total() == 120  # A draft is not on the map.
    services.structure_publish(structure=created, actor=facilitator)
    assert map_total() == 121
    assert_cells_equal_a_rebuild()

    # Moved to its own point, then to another commune's point, then another family.
    services.structure_update(structure=created, actor=facilitator, latitude=48.85, longitude=2.35)
    services.structure_update(
        structure=created, actor=facilitator, latitude=None, longitude=None, commune=communes["albi"]
    )
    services.structure_update(structure=created, actor=facilitator, family="fondation")
    assert_cells_equal_a_rebuild()
    answer = structure_clusters(bbox=FRANCE, zoom=5, filters={"family": "fondation"})
    assert [(f.id, f.latitude, f.commune_name) for f in answer.features] == [(created.pk, 43.9277, "Albi")]

    # A commune without a point takes it off the map; unpublishing, archiving do too.
    services.structure_update(structure=created, actor=facilitator, commune=communes["nowhere"])
    assert map_total() == 120
    services.structure_update(structure=created, actor=facilitator, commune=communes["castres"])
    assert map_total() == 121
    services.structure_restore(structure=created, actor=facilitator)  # published -> draft
    assert map_total() == 120
    services.structure_archive(structure=created, actor=facilitator)
    services.structure_restore(structure=created, actor=facilitator)
    services.structure_publish(structure=created, actor=facilitator)
    assert map_total() == 121
    assert_cells_equal_a_rebuild()

    # Status changes of many cards, then the empty map: every cell is gone.
    for structure in Structure.objects.filter(status="published"):
        services.structure_archive(structure=structure, actor=facilitator)
    assert map_total() == 0
    assert MapCell.objects.count() == 0


def test_a_merge_moves_the_kept_card_and_removes_the_other(communes, facilitator):
    spread_structures(30)
    keep = services.structure_create(
        name="Recyclerie",
        family="association",
        actor=facilitator,
        status="published",
        commune=communes["albi"],
    )
    remove = services.structure_create(
        name="La Recyclerie",
        family="association",
        actor=facilitator,
        status="published",
        latitude=43.61,
        longitude=2.25,
    )
    assert map_total() == 32

    structures_merge(keep=keep, remove=remove, field_choices={"point": "remove"}, actor=facilitator)

    assert map_total() == 31
    [point] = structure_clusters(bbox=NEAR_CASTRES, zoom=12, filters={}).features
    assert (point.id, point.latitude, point.longitude) == (keep.pk, 43.61, 2.25)
    assert_cells_equal_a_rebuild()


def test_a_sirene_import_moves_published_cards_it_updates(tmp_path, communes, facilitator):
    categories = tmp_path / "categories.csv"
    categories.write_text("code;libelle\n9220;Association déclarée\n", encoding="utf-8")
    legal_categories_load(path=categories)
    units = write_csv(
        tmp_path / "StockUniteLegale.csv", UNIT_HEADER, [unit(SIREN_ASSO, "LES ATELIERS", "9220")]
    )
    header = [*ESTABLISHMENT_HEADER, "latitude", "longitude"]
    first = write_csv(
        tmp_path / "StockEtablissement.csv",
        header,
        [establishment("77567227200017", "81065", latitude="43.6100", longitude="2.2500")],
    )
    sirene_import(path=units, establishments_path=first)
    structure = Structure.objects.get(siren=SIREN_ASSO)
    assert map_total() == 0  # Imported cards are drafts.
    services.structure_publish(structure=structure, actor=facilitator)
    assert map_total() == 1

    moved = write_csv(
        tmp_path / "StockEtablissement2.csv",
        header,
        [establishment("77567227200017", "81004", latitude="43.9300", longitude="2.1500")],
    )
    sirene_import(path=units, establishments_path=moved)

    [point] = structure_clusters(bbox=FRANCE, zoom=5, filters={}).features
    assert (point.id, point.latitude, point.longitude, point.commune_name) == (
        structure.pk,
        43.93,
        2.15,
        "Albi",
    )
    assert_cells_equal_a_rebuild()


def test_rebuild_command_repairs_writes_that_bypassed_the_services(communes, capsys):
    spread_structures(80)
    # Raw SQL behind the application's back: moves everything to Castres' commune point.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE actors_structure SET latitude = NULL, longitude = NULL, commune_id = %s",
            [communes["castres"].pk],
        )
    stale = structure_clusters(bbox=FRANCE, zoom=5, filters={})
    assert len(stale.features) > 1

    call_command("map_reindex")

    assert "80 position(s) de structure mise(s) à jour" in capsys.readouterr().out
    [cluster] = structure_clusters(bbox=FRANCE, zoom=5, filters={}).features
    assert (cluster.count, cluster.commune_name) == (80, "Castres")
    assert (cluster.latitude, cluster.longitude) == pytest.approx((43.6060, 2.2410))
    assert_cells_equal_a_rebuild()
