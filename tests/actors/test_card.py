import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from essaim.actors import services
from essaim.actors.models import Establishment, FieldProvenance, Label, LegalCategory, Structure, Theme
from essaim.core.models import AuditLogEntry
from essaim.territories.models import Commune
from tests.factories import FacilitatorFactory, StructureFactory

pytestmark = pytest.mark.django_db


def test_themes_and_labels_are_seeded():
    slugs = set(Theme.objects.values_list("slug", flat=True))
    assert len(slugs) == 16
    assert {"alimentation-circuits-courts", "economie-circulaire-reemploi", "emploi-formation"} <= slugs
    assert (
        Theme.objects.get(slug="insertion-activite-economique").label == "Insertion par l'activité économique"
    )
    assert {"membre-ptce", "membre-cress", "monnaie-locale"} <= set(
        Label.objects.values_list("slug", flat=True)
    )


def test_structure_create_with_the_full_card_records_provenance():
    category = LegalCategory.objects.create(code="9220", label="Association déclarée")
    themes = list(Theme.objects.filter(slug__in=["culture", "numerique"]))
    structure = services.structure_create(
        name="Le Périscope",
        family="association",
        actor=FacilitatorFactory(),
        siren="775672272",
        rna="W313012345",
        legal_category=category,
        naf_code="94.99Z",
        phone="05 61 00 00 00",
        headcount_band="11",
        creation_date=datetime.date(2001, 5, 14),
        opening_hours="Du lundi au vendredi, 9 h - 17 h",
        latitude=43.5,
        longitude=1.5,
        themes=themes,
    )
    structure.refresh_from_db()
    assert structure.get_headcount_band_display() == "10 à 19 salariés"
    assert structure.point == (43.5, 1.5)
    assert set(structure.themes.values_list("slug", flat=True)) == {"culture", "numerique"}
    provenance = dict(FieldProvenance.objects.filter(structure=structure).values_list("field", "source"))
    assert provenance["siren"] == "facilitator"
    assert provenance["legal_category"] == "facilitator"
    assert provenance["themes"] == "facilitator"
    assert "email" not in provenance  # Empty fields have no provenance.
    assert FieldProvenance.objects.filter(structure=structure, verified_by_human=False).count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("siren", "775672273"),
        ("siren", "12345"),
        ("rna", "W12"),
        ("headcount_band", "99"),
        ("sirene_ess_flag", "X"),
    ],
)
def test_structure_create_refuses_bad_identifiers_in_french(field, value):
    with pytest.raises(ValidationError) as exc:
        services.structure_create(name="Ozon", family="association", actor=None, **{field: value})
    assert field in exc.value.message_dict
    assert not Structure.objects.exists()


def test_siren_is_unique_but_may_be_empty():
    services.structure_create(name="A", family="association", actor=None, siren="775672272")
    services.structure_create(name="B", family="association", actor=None)
    services.structure_create(name="C", family="association", actor=None)
    with pytest.raises(ValidationError, match="SIREN"):
        services.structure_create(name="D", family="association", actor=None, siren="775672272")


def test_database_constraints_hold_without_the_services():
    with pytest.raises(IntegrityError), transaction.atomic():
        StructureFactory(siren="12345")
    with pytest.raises(IntegrityError), transaction.atomic():
        StructureFactory(rna="X313012345")
    with pytest.raises(IntegrityError), transaction.atomic():
        StructureFactory(latitude=43.5, longitude=None)
    structure = StructureFactory()
    Establishment.objects.create(siret="77567227200017", structure=structure, is_head_office=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Establishment.objects.create(siret="77567227200025", structure=structure, is_head_office=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Establishment.objects.create(siret="77567227200017", structure=StructureFactory())


def test_point_falls_back_on_the_commune(cog_sample):
    commune = Commune.objects.get(code="31113")
    commune.latitude, commune.longitude = 43.51, 1.49
    commune.save()
    structure = StructureFactory(commune=commune)
    assert structure.point == (43.51, 1.49)
    assert StructureFactory().point is None


def test_structure_update_records_provenance_per_changed_field_and_source():
    structure = services.structure_create(name="Totocar", family="association", actor=None)
    changed = services.structure_update(
        structure=structure, actor=None, source="structure", phone="06 00 00 00 00", name="Totocar"
    )
    assert changed == ["phone"]
    row = FieldProvenance.objects.get(structure=structure, field="phone")
    assert (row.source, row.verified_by_human) == ("structure", True)
    changed = services.structure_update(
        structure=structure, actor=None, labels=list(Label.objects.filter(slug="membre-cress"))
    )
    assert changed == ["labels"]
    with pytest.raises(ValidationError):
        services.structure_update(structure=structure, actor=None, source="nimporte", phone="07")


def test_structure_verify_sets_the_date_and_marks_provenance_verified():
    structure = services.structure_create(name="Totocar", family="association", actor=None, source="csv")
    assert FieldProvenance.objects.filter(structure=structure, verified_by_human=False).exists()
    services.structure_verify(structure=structure, actor=None, on=datetime.date(2026, 3, 1))
    structure.refresh_from_db()
    assert structure.last_verified_at == datetime.date(2026, 3, 1)
    assert not FieldProvenance.objects.filter(structure=structure, verified_by_human=False).exists()
    assert AuditLogEntry.objects.filter(verb="actors.structure.verified").count() == 1


def test_qualification_property_uses_the_legal_category():
    category = LegalCategory.objects.create(code="5710", label="SAS, société par actions simplifiée")
    structure = StructureFactory(legal_category=category, sirene_ess_flag="O", family="esus")
    assert structure.qualification.family == "esus"
    assert structure.qualification.rule_text.startswith("5710 SAS")
    assert StructureFactory().qualification is None
