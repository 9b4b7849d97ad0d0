"""Import of data·inclusion v1 structures (JSON), validated with the schema's own package."""

import json

import pytest
from django.core.management import CommandError, call_command

from essaim.actors import services
from essaim.actors.exports import structures_export
from essaim.actors.importers.datainclusion import DataInclusionImportError, datainclusion_import
from essaim.actors.models import Family, ImportedRecord, PendingChange, Source, Status, Structure

pytestmark = pytest.mark.django_db

SIRET = "73282932000074"


def record(identifier="r1", **fields):
    data = {
        "source": "dora",
        "id": identifier,
        "nom": "Recyclerie des Ateliers",
        "date_maj": "2025-06-01",
        "siret": SIRET,
        "code_insee": "81065",
        "commune": "Castres",
        "adresse": "2 rue des Ateliers",
        "courriel": "contact@recyclerie.fr",
        "site_web": "https://recyclerie.fr",
        "telephone": "05 63 00 00 00",
        "description": "Réemploi et ateliers de réparation.",
        "latitude": 43.6,
        "longitude": 2.24,
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def write(tmp_path, records, name="structures.json"):
    path = tmp_path / name
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_valid_records_become_cards_and_invalid_ones_are_rejected_in_french(tmp_path, cog_sample):
    records = [
        record(),
        record("r2", nom="AB", siret=None),  # Name too short for the schema.
        record("r3", nom="Épicerie solidaire", siret="123", courriel="pas un courriel"),
        record("r4", nom="Tiers-lieu", siret=None, code_insee=None, commune="Castres", courriel=None),
        "not an object",
    ]
    run = datainclusion_import(path=write(tmp_path, records))

    assert (run.rows_read, run.created, run.rejected) == (5, 2, 3)
    structure = Structure.objects.get(siren=SIRET[:9])
    assert structure.commune.code == "81065"
    assert (structure.email, structure.website) == ("contact@recyclerie.fr", "https://recyclerie.fr/")
    assert structure.origin_source == Source.DATAINCLUSION
    assert structure.status == Status.DRAFT
    assert ImportedRecord.objects.get(structure=structure).external_id == "dora:r1"
    assert Structure.objects.get(name="Tiers-lieu").commune.code == "81065"
    reasons = {entry["line"]: entry.get("reasons", []) for entry in run.rows}
    assert reasons[2] == ["nom : trop court."]
    assert "SIRET : trop court." in reasons[3] and "courriel : valeur invalide." in reasons[3]
    assert reasons[5] == ["la structure n'est pas un objet JSON."]


def test_rerun_is_idempotent_dry_run_writes_nothing_and_verified_fields_go_to_review(tmp_path, cog_sample):
    path = write(tmp_path, [record()])
    datainclusion_import(path=path)
    structure = Structure.objects.get()
    services.structure_update(structure=structure, actor=None, phone="05 63 99 99 99")

    again = datainclusion_import(path=path)
    assert (again.created, again.updated, again.unchanged) == (0, 1, 0)
    assert again.rows[0]["pending"] == ["phone"]
    structure.refresh_from_db()
    assert structure.phone == "05 63 99 99 99"
    assert PendingChange.objects.get().new_value == "05 63 00 00 00"

    changed = write(tmp_path, [record(nom="Recyclerie des Ateliers de Castres")], name="b.json")
    dry = datainclusion_import(path=changed, dry_run=True)
    assert dry.updated == 1 and dry.rows[0]["fields"] == ["name"]
    structure.refresh_from_db()
    assert structure.name == "Recyclerie des Ateliers"
    assert Structure.objects.count() == 1


def test_our_own_export_imports_back_into_the_same_cards(tmp_path, cog_sample):
    from essaim.territories.models import Commune

    services.structure_create(
        name="La Rafistolerie",
        family=Family.ASSOCIATION,
        actor=None,
        status=Status.PUBLISHED,
        commune=Commune.objects.get(code="31113"),
        email="contact@rafistolerie.fr",
    )
    data = b"".join(structures_export(queryset=Structure.objects.all(), fmt="datainclusion.json").chunks)
    path = tmp_path / "export.json"
    path.write_bytes(data)
    run = datainclusion_import(path=path)
    # Not matched (no SIRET, a new source id): a new draft card, which the duplicates page will propose.
    assert run.created == 1 and run.rejected == 0
    assert datainclusion_import(path=path).unchanged == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "vide"), (b"{not json", "JSON illisible"), (b'{"a": 1}', "liste"), (b"\xff\xfe[]", "UTF-8")],
)
def test_unreadable_files_are_refused_in_french(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DataInclusionImportError, match=message):
        datainclusion_import(path=path)
    with pytest.raises(CommandError, match=message):
        call_command("import_datainclusion", str(path), verbosity=0)


def test_command_reports_and_accepts_an_api_page(tmp_path, cog_sample, capsys):
    path = write(tmp_path, {"items": [record()], "total": 1})
    call_command("import_datainclusion", str(path))
    out, err = capsys.readouterr()
    assert "1 créée(s)" in out and "1 / 1 lignes" in err
    assert Structure.objects.count() == 1
