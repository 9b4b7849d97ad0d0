import datetime

import pytest
from django.core.exceptions import ValidationError

from essaim.actors import history
from essaim.actors.duplicates import structures_merge
from essaim.actors.models import Family, Source, Status, Structure, StructureVersion, Theme, VersionKind
from essaim.actors.services import (
    RESERVED_SLUGS,
    structure_archive,
    structure_create,
    structure_update,
)
from essaim.territories.models import Commune
from tests.factories import FacilitatorFactory, StructureFactory

pytestmark = pytest.mark.django_db


def versions(structure):
    return list(StructureVersion.objects.filter(structure=structure).order_by("pk"))


def test_creation_is_the_first_version_with_every_filled_field():
    facilitator = FacilitatorFactory()
    theme = Theme.objects.first()
    structure = structure_create(
        name="La Rafistolerie",
        family=Family.ASSOCIATION,
        actor=facilitator,
        website="https://rafistolerie.fr",
        creation_date=datetime.date(2019, 3, 1),
        themes=[theme],
    )
    (version,) = versions(structure)
    assert version.kind == VersionKind.CREATED and version.actor == facilitator
    assert version.source == Source.FACILITATOR
    assert version.changes["name"] == {"old": None, "new": "La Rafistolerie"}
    assert version.changes["creation_date"] == {"old": None, "new": "2019-03-01"}
    assert version.changes["themes"] == {"old": None, "new": [theme.pk]}
    assert "acronym" not in version.changes


def test_each_update_is_a_version_with_old_and_new_values(cog_sample):
    facilitator = FacilitatorFactory()
    structure = StructureFactory(website="https://old.example.org")
    commune = Commune.objects.get(code="31113")
    theme = Theme.objects.first()
    structure_update(
        structure=structure, actor=facilitator, website="https://new.example.org", commune=commune
    )
    structure_update(structure=structure, actor=facilitator, website="https://new.example.org")  # No change.
    structure_update(structure=structure, actor=None, source=Source.SIRENE, themes=[theme])
    first, second = versions(structure)
    assert first.changes == {
        "website": {"old": "https://old.example.org", "new": "https://new.example.org"},
        "commune": {"old": None, "new": commune.pk},
    }
    assert second.changes == {"themes": {"old": [], "new": [theme.pk]}}
    assert second.source == Source.SIRENE and second.actor is None
    rows = {row["field"]: row for row in history.diff_rows(first.changes)}
    assert rows["commune"]["old"] == "(vide)" and "Castanet-Tolosan" in rows["commune"]["new"]
    assert rows["website"]["label"] == "Site web"
    assert history.diff_rows(second.changes)[0]["new"] == theme.label


def test_status_changes_are_versions_too():
    structure = StructureFactory(status=Status.PUBLISHED)
    structure_archive(structure=structure, actor=FacilitatorFactory())
    (version,) = versions(structure)
    assert version.kind == VersionKind.STATUS
    assert version.changes == {"status": {"old": "published", "new": "archived"}}


def test_restoring_a_version_brings_its_values_back_as_a_new_version():
    facilitator = FacilitatorFactory()
    structure = structure_create(
        name="Ozon",
        family=Family.COOPERATIVE,
        cooperative_kind="cae",
        actor=facilitator,
        phone="05 61 00 00 00",
    )
    created = versions(structure)[0]
    structure_update(structure=structure, actor=facilitator, name="Ozon CAE", phone="")
    structure_update(structure=structure, actor=facilitator, email="contact@ozon.coop")

    changed = history.version_restore(version=created, actor=facilitator)
    structure.refresh_from_db()
    assert sorted(changed) == ["email", "name", "phone"]
    assert (structure.name, structure.phone, structure.email) == ("Ozon", "05 61 00 00 00", "")
    restored = versions(structure)[-1]
    assert restored.kind == VersionKind.RESTORED and restored.actor == facilitator
    assert restored.changes["name"] == {"old": "Ozon CAE", "new": "Ozon"}

    # The restoration can itself be undone: back to the state before it.
    history.version_restore(version=versions(structure)[-2], actor=facilitator)
    structure.refresh_from_db()
    assert (structure.name, structure.email) == ("Ozon CAE", "contact@ozon.coop")


def test_a_restore_that_would_break_the_card_writes_nothing():
    facilitator = FacilitatorFactory()
    structure = structure_create(name="A", family=Family.ASSOCIATION, actor=facilitator, siren="732829320")
    created = versions(structure)[0]
    structure_update(structure=structure, actor=facilitator, siren="")
    StructureFactory(siren="732829320")  # Another card took the SIREN meanwhile.
    count = StructureVersion.objects.count()
    with pytest.raises(ValidationError):
        history.version_restore(version=created, actor=facilitator)
    structure.refresh_from_db()
    assert structure.siren == "" and StructureVersion.objects.count() == count


def test_a_merge_is_kept_in_both_cards_histories():
    facilitator = FacilitatorFactory()
    keep = StructureFactory(name="Recyclerie", website="")
    remove = StructureFactory(name="La Recyclerie", website="https://recyclerie.fr")
    structures_merge(keep=keep, remove=remove, field_choices={"website": "remove"}, actor=facilitator)
    (kept,) = versions(keep)
    assert kept.kind == VersionKind.MERGED
    assert kept.changes == {"website": {"old": "", "new": "https://recyclerie.fr"}}
    (removed,) = versions(remove)
    assert removed.changes["status"]["new"] == Status.ARCHIVED


def test_bulk_versions_for_imports():
    structure = StructureFactory()
    count = history.versions_record_bulk(
        [(structure.pk, {"naf_code": {"old": "", "new": "88.99B"}}), (structure.pk, {})],
        source=Source.SIRENE,
        source_ref="StockUniteLegale.csv",
    )
    assert count == 1
    (version,) = versions(structure)
    assert version.kind == VersionKind.IMPORTED and version.source_ref == "StockUniteLegale.csv"


@pytest.mark.parametrize("name", ["Nouvelle", "Doublons", "Export", "Gestion", "Imports"])
def test_slugs_never_take_a_directory_route(name):
    structure = structure_create(name=name, family=Family.ASSOCIATION, actor=None)
    assert structure.slug not in RESERVED_SLUGS
    assert structure.slug == f"{name.lower()}-2"


def test_an_explicit_reserved_slug_is_refused():
    with pytest.raises(ValidationError, match="réservé"):
        structure_create(name="X", slug="nouvelle", family=Family.ASSOCIATION, actor=None)


def test_a_sirene_reimport_keeps_its_changes_in_the_history(tmp_path):
    from essaim.actors.importers.sirene import sirene_import
    from essaim.actors.models import LegalCategory
    from tests.actors.sirene_rows import SIREN_ASSO, UNIT_HEADER, unit, write_csv

    LegalCategory.objects.create(code="9220", label="Association déclarée")
    rows = [unit(SIREN_ASSO, "LES ATELIERS DU PERISCOPE", "9220")]
    sirene_import(path=write_csv(tmp_path / "v1.csv", UNIT_HEADER, rows))
    structure = Structure.objects.get(siren=SIREN_ASSO)
    assert not versions(structure)  # Bulk creation: the card's origin says where it comes from.
    rows[0]["denominationUniteLegale"] = "LES ATELIERS DU PÉRISCOPE"
    sirene_import(path=write_csv(tmp_path / "v2.csv", UNIT_HEADER, rows))
    (version,) = versions(structure)
    assert version.kind == VersionKind.IMPORTED and version.source == Source.SIRENE
    assert version.source_ref == "v2.csv"
    assert version.changes["name"] == {"old": "LES ATELIERS DU PERISCOPE", "new": "LES ATELIERS DU PÉRISCOPE"}
