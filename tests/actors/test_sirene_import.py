import datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from essaim.actors import services
from essaim.actors.importers.sirene import sirene_import
from essaim.actors.legal_categories import legal_categories_load
from essaim.actors.models import (
    Establishment,
    FieldProvenance,
    ImportRun,
    LegalCategory,
    PendingChange,
    Structure,
)
from essaim.territories.models import Commune
from essaim.territories.services import perimeter_save
from tests.actors.sirene_rows import (
    ESTABLISHMENT_HEADER,
    SIREN_ASSO,
    SIREN_EI,
    SIREN_SAS,
    SIREN_SAS_ESS,
    SIREN_SCOP,
    UNIT_HEADER,
    establishment,
    unit,
    write_csv,
    zip_file,
)

SAMPLE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sirene_unites_legales_echantillon.csv"
)
CATEGORIES = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "categories_juridiques_niveau3.csv"
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def categories(tmp_path):
    path = tmp_path / "categories.csv"
    path.write_text(
        "code;libelle\n1000;Entrepreneur individuel\n5458;SARL coopérative de production (SCOP)\n"
        "5710;SAS, société par actions simplifiée\n9220;Association déclarée\n9300;Fondation\n",
        encoding="utf-8",
    )
    legal_categories_load(path=path)


def units(tmp_path, rows, name="StockUniteLegale.csv", **kwargs):
    return write_csv(tmp_path / name, UNIT_HEADER, rows, **kwargs)


BASIC_ROWS = [
    unit(
        SIREN_ASSO,
        "LES ATELIERS DU PERISCOPE",
        "9220",
        sigleUniteLegale="ADP",
        identifiantAssociationUniteLegale="W313012345",
    ),
    unit(SIREN_SCOP, "OZON SCOP", "5458", economieSocialeSolidaireUniteLegale="O"),
    unit(
        SIREN_SAS_ESS,
        "TOTOCAR",
        "5710",
        economieSocialeSolidaireUniteLegale="O",
        societeMissionUniteLegale="O",
    ),
    unit(SIREN_SAS, "SPORT SHOP", "5710", etatAdministratifUniteLegale="C"),
    unit(SIREN_EI, "", "1000", nomUniteLegale="DUPONT", prenom1UniteLegale="JEAN"),
]


def test_import_creates_qualified_draft_structures_and_skips_individuals(tmp_path, categories):
    run = sirene_import(path=units(tmp_path, BASIC_ROWS))
    assert (run.rows_read, run.created, run.skipped, run.rejected) == (5, 4, 1, 0)
    association = Structure.objects.get(siren=SIREN_ASSO)
    assert (association.name, association.acronym, association.family) == (
        "LES ATELIERS DU PERISCOPE",
        "ADP",
        "association",
    )
    assert association.rna == "W313012345"
    assert association.creation_date == datetime.date(2001, 5, 14)
    assert association.headcount_band == "11"
    assert association.naf_code == "88.99B"
    assert association.status == "draft"
    assert Structure.objects.search("periscope").get() == association
    scop = Structure.objects.get(siren=SIREN_SCOP)
    assert (scop.family, scop.cooperative_kind) == ("cooperative", "scop")
    totocar = Structure.objects.get(siren=SIREN_SAS_ESS)
    assert (totocar.family, totocar.is_societe_mission, totocar.sirene_ess_flag) == ("esus", True, "O")
    assert Structure.objects.get(siren=SIREN_SAS).family == "other"
    assert not Structure.objects.filter(siren=SIREN_EI).exists()
    assert not Structure.objects.filter(name__icontains="dupont").exists()
    provenance = {item["field"]: item for item in association.field_provenances()}
    assert {"name", "legal_category", "rna", "headcount_band", "creation_date"} <= set(provenance)
    assert "phone" not in provenance
    item = provenance["legal_category"]
    assert (item["source"], item["source_ref"], item["verified_by_human"]) == (
        "sirene",
        "StockUniteLegale.csv",
        False,
    )
    assert ImportRun.objects.get() == run


def test_filters_ess_only_and_active_only(tmp_path, categories):
    run = sirene_import(path=units(tmp_path, BASIC_ROWS), ess_only=True, active_only=True)
    assert set(Structure.objects.values_list("siren", flat=True)) == {SIREN_ASSO, SIREN_SCOP, SIREN_SAS_ESS}
    assert (run.created, run.skipped) == (3, 2)


def test_non_diffusible_units_are_never_stored(tmp_path, categories):
    rows = [unit(SIREN_ASSO, "[ND]", "9220", statutDiffusionUniteLegale="P")]
    run = sirene_import(path=units(tmp_path, rows))
    assert (run.created, run.skipped) == (0, 1)
    assert not Structure.objects.exists()


def test_rerun_is_idempotent_and_updates_changed_fields(tmp_path, categories):
    path = units(tmp_path, BASIC_ROWS)
    sirene_import(path=path)
    first_ids = dict(Structure.objects.values_list("siren", "pk"))
    again = sirene_import(path=path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    rows = [dict(row) for row in BASIC_ROWS]
    rows[0]["denominationUniteLegale"] = "LES ATELIERS DU PÉRISCOPE"
    rows[0]["trancheEffectifsUniteLegale"] = "12"
    changed = sirene_import(path=units(tmp_path, rows, name="v2.csv"))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 3)
    assert dict(Structure.objects.values_list("siren", "pk")) == first_ids
    association = Structure.objects.get(siren=SIREN_ASSO)
    assert (association.name, association.headcount_band) == ("LES ATELIERS DU PÉRISCOPE", "12")
    assert FieldProvenance.objects.get(structure=association, field="name").source_ref == "v2.csv"
    assert FieldProvenance.objects.filter(structure=association, field="name").count() == 1


def test_a_human_verified_field_becomes_a_pending_change(tmp_path, categories):
    structure = services.structure_create(
        name="Les Ateliers du Périscope",
        family="association",
        actor=None,
        siren=SIREN_ASSO,
        phone="05 61 00 00 00",
    )
    run = sirene_import(path=units(tmp_path, BASIC_ROWS[:1]))
    structure.refresh_from_db()
    # The name typed by a facilitator stays; SIRENE's is proposed for review.
    assert structure.name == "Les Ateliers du Périscope"
    change = PendingChange.objects.get(structure=structure, field="name")
    assert (change.old_value, change.new_value, change.source) == (
        "Les Ateliers du Périscope",
        "LES ATELIERS DU PERISCOPE",
        "sirene",
    )
    # Fields nobody verified are filled in from SIRENE.
    assert structure.legal_category_id == "9220"
    assert structure.rna == "W313012345"
    assert structure.phone == "05 61 00 00 00"
    assert (run.created, run.updated, run.pending_changes) == (0, 1, 1)
    sirene_import(path=units(tmp_path, BASIC_ROWS[:1]))
    assert PendingChange.objects.count() == 1  # Re-running refreshes the proposal, no pile-up.


def test_bad_rows_are_rejected_with_line_and_reason_and_the_rest_imported(tmp_path, categories):
    rows = [
        unit("775672273", "CLE FAUSSE", "9220"),
        unit(SIREN_SCOP, "CATEGORIE INCONNUE", "9999"),
        unit(SIREN_ASSO, "BONNE ASSO", "9220"),
        unit(SIREN_SAS_ESS, "DATE", "5710", dateCreationUniteLegale="14/05/2001"),
        unit(SIREN_SAS, "", "5710"),
    ]
    path = units(tmp_path, rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("123,trop,court\n")
    run = sirene_import(path=path)
    assert (run.created, run.rejected) == (1, 5)
    reasons = {item["line"]: item["reason"] for item in run.rejections}
    assert "clé de contrôle" in reasons[2]
    assert "catégorie juridique « 9999 » inconnue" in reasons[3]
    assert "date de création" in reasons[5]
    assert "dénomination absente" in reasons[6]
    assert "colonnes" in reasons[7]
    assert Structure.objects.get().name == "BONNE ASSO"


def test_a_row_the_database_refuses_is_rejected_and_the_batch_kept(tmp_path, categories):
    from tests.factories import StructureFactory

    StructureFactory(slug=f"{SIREN_ASSO}-bonne-asso")  # Takes the slug the import would give.
    rows = [unit(SIREN_ASSO, "BONNE ASSO", "9220"), unit(SIREN_SCOP, "OZON", "5458")]
    run = sirene_import(path=units(tmp_path, rows))
    assert (run.created, run.rejected) == (1, 1)
    assert run.rejections[0]["line"] == 2
    assert "refusé par la base" in run.rejections[0]["reason"]
    assert Structure.objects.filter(siren=SIREN_SCOP).exists()
    assert not Structure.objects.filter(siren=SIREN_ASSO).exists()


def test_zipped_file_with_bom(tmp_path, categories):
    member = units(tmp_path, BASIC_ROWS[:2], name="StockUniteLegale_utf8.csv", bom=True)
    run = sirene_import(path=zip_file(tmp_path / "StockUniteLegale_utf8.zip", member))
    assert run.created == 2
    assert Structure.objects.filter(siren=SIREN_ASSO).exists()


def test_missing_columns_is_a_clear_error_and_changes_nothing(tmp_path, categories):
    path = tmp_path / "bad.csv"
    path.write_text("siren,denominationUniteLegale\n775672272,ASSO\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"Colonnes absentes.*categorieJuridiqueUniteLegale"):
        call_command("sirene_import", str(path), verbosity=0)
    assert not Structure.objects.exists()
    assert "Colonnes absentes" in ImportRun.objects.get().error


def test_a_file_that_is_not_utf8_midway_is_refused_and_changes_nothing(tmp_path, categories):
    from stdnum import luhn

    # Enough good rows for the bad bytes to come after the first decoded chunk.
    sirens = [f"{10_000_000 + n:08d}" for n in range(300)]
    rows = [
        unit(base + luhn.calc_check_digit(base), f"ASSOCIATION {n}", "9220") for n, base in enumerate(sirens)
    ]
    path = units(tmp_path, rows)
    with path.open("ab") as handle:
        handle.write(b"775672272,O,,2001-05-14,,,,,,,,,,11,,,,,,,A,,,ASSOCIATION \xe9T\xe9,,,,9220,,,,N,,,\n")
    with pytest.raises(CommandError, match=r"n'est pas encodé en UTF-8.*après la ligne"):
        call_command("sirene_import", str(path), verbosity=0)
    assert not Structure.objects.exists()


def test_legal_categories_must_be_loaded_first(tmp_path):
    with pytest.raises(CommandError, match="legal_categories_load"):
        call_command("sirene_import", str(units(tmp_path, BASIC_ROWS)), verbosity=0)


def test_dry_run_counts_but_writes_nothing(tmp_path, categories, capsys):
    call_command("sirene_import", str(units(tmp_path, BASIC_ROWS)), "--dry-run")
    out = capsys.readouterr()
    assert "Essai à blanc" in out.out and "4 créées" in out.out
    assert "lignes/s" in out.err
    assert not Structure.objects.exists()
    run = ImportRun.objects.get()
    assert (run.dry_run, run.created) == (True, 4)


def test_establishments_give_points_addresses_and_the_perimeter(tmp_path, categories, cog_sample):
    castanet = Commune.objects.get(code="31113")
    castanet.latitude, castanet.longitude = 43.51, 1.49
    castanet.save()
    other = Commune.objects.exclude(code="31113").first()
    perimeter_save(slug="sicoval", name="Sicoval", kind="custom", commune_codes=["31113"], actor=None)
    establishments = write_csv(
        tmp_path / "StockEtablissement.csv",
        [*ESTABLISHMENT_HEADER, "latitude", "longitude"],
        [
            establishment("77567227200017", "31113", latitude="43.5153", longitude="1.4985"),
            establishment(
                "77567227200025",
                "31113",
                etablissementSiege="false",
                etatAdministratifEtablissement="F",
                coordonneeLambertAbscisseEtablissement="579000",
                coordonneeLambertOrdonneeEtablissement="6270000",
            ),
            establishment("55210055400013", other.code),
            establishment("73282932000017", "31113", numeroVoieEtablissement=""),
            establishment("73282932000018", "31113"),
        ],
    )
    run = sirene_import(
        path=units(tmp_path, BASIC_ROWS), establishments_path=establishments, perimeter="sicoval"
    )
    assert set(Structure.objects.values_list("siren", flat=True)) == {SIREN_ASSO, SIREN_SAS_ESS}
    assert run.establishments_created == 3
    assert [r["reason"] for r in run.rejections] == [
        "StockEtablissement.csv, SIRET « 73282932000018 » invalide : la clé de contrôle est fausse."
    ]
    association = Structure.objects.get(siren=SIREN_ASSO)
    assert association.commune == castanet
    assert association.address == "12 RUE DES ATELIERS, 31320 CASTANET-TOLOSAN"
    assert association.point == (43.5153, 1.4985)
    secondary = Establishment.objects.get(siret="77567227200025")
    assert (secondary.is_head_office, secondary.is_active) == (False, False)
    # Lambert-93 (579000, 6270000) is near Toulouse.
    assert 43.4 < secondary.latitude < 43.7 and 1.3 < secondary.longitude < 1.6
    totocar = Structure.objects.get(siren=SIREN_SAS_ESS)
    assert (totocar.latitude, totocar.point) == (None, (43.51, 1.49))  # No coordinates: the commune's point.
    again = sirene_import(
        path=units(tmp_path, BASIC_ROWS), establishments_path=establishments, perimeter="sicoval"
    )
    assert (again.establishments_created, again.establishments_updated, again.updated) == (0, 0, 0)
    assert Establishment.objects.count() == 3


def test_perimeter_needs_the_establishments_file(tmp_path, categories, cog_sample):
    perimeter_save(slug="sicoval", name="Sicoval", kind="custom", commune_codes=["31113"], actor=None)
    with pytest.raises(CommandError, match="--etablissements"):
        call_command("sirene_import", str(units(tmp_path, BASIC_ROWS)), "--perimeter", "sicoval", verbosity=0)


@pytest.mark.shared_data
@pytest.mark.skipif(not (SAMPLE.is_file() and CATEGORIES.is_file()), reason="../shared/data absent")
def test_real_sirene_sample(tmp_path):
    legal_categories_load(path=CATEGORIES)
    run = sirene_import(path=SAMPLE)
    total = len(SAMPLE.read_text(encoding="utf-8").splitlines()) - 1
    assert run.rows_read == total
    assert run.rejected == 0
    assert run.created + run.skipped == total
    assert Structure.objects.count() == run.created
    # The sample's companies are not flagged ESS: none is qualified as an ESS structure.
    flagged = set(Structure.objects.filter(sirene_ess_flag="O").values_list("siren", flat=True))
    assert set(Structure.objects.ess().values_list("siren", flat=True)) <= flagged
    assert LegalCategory.objects.filter(pk__in=Structure.objects.values("legal_category")).exists()
    active = sirene_import(path=SAMPLE, active_only=True)
    assert active.skipped >= 1 and active.created == 0


def test_search_insert_trigger_is_back_after_runs_dry_runs_and_failed_runs(tmp_path, categories):
    """The run drops the search index's INSERT trigger for its bulk inserts (SQLite): it must come back."""
    from django.db import connection

    from essaim.actors.importers.sirene import SEARCH_INSERT_TRIGGER, SireneImportError

    def trigger_sql():
        if connection.vendor != "sqlite":
            return "n/a"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [SEARCH_INSERT_TRIGGER]
            )
            row = cursor.fetchone()
        return row[0] if row else None

    before = trigger_sql()
    assert before is not None
    path = units(tmp_path, BASIC_ROWS)
    sirene_import(path=path, dry_run=True)
    assert trigger_sql() == before
    sirene_import(path=path)
    assert trigger_sql() == before
    count = Structure.objects.count()
    bad = tmp_path / "etablissements.csv"
    bad.write_text("siren;siret\n", encoding="utf-8")  # Missing columns: the whole run fails.
    with pytest.raises(SireneImportError):
        sirene_import(path=path, establishments_path=bad)
    assert trigger_sql() == before
    assert Structure.objects.count() == count
