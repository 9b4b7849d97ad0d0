"""Import of the spreadsheets networks already keep (CSV / XLSX) into structure cards."""

import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from essaim.actors import services
from essaim.actors.importers.base import ImportError_
from essaim.actors.importers.tabular import (
    guess_key_column,
    guess_mapping,
    import_source_for,
    open_table,
    table_import,
)
from essaim.actors.models import (
    Establishment,
    Family,
    FieldProvenance,
    ImportedRecord,
    ImportRun,
    ImportSource,
    PendingChange,
    Source,
    Structure,
)
from essaim.core.models import AuditLogEntry
from essaim.territories.models import Commune, PostalCode

pytestmark = pytest.mark.django_db

# Valid SIRETs (Luhn) of two structures, and one with a wrong check digit.
SIRET_A = "73282932000074"
SIRET_B = "35600000000048"
SIRET_BAD = "73282932000075"

HEADER = ["Réf", "Raison sociale", "SIRET", "Code postal", "Commune", "Courriel", "Site internet",
          "Téléphone", "Thématiques"]  # fmt: skip
ROWS = [
    ["A1", "Recyclerie des Ateliers", SIRET_A, "81100", "Castres", "Contact@Recyclerie.fr",
     "www.recyclerie.fr", "05 63 00 00 00", "Économie circulaire et réemploi, Culture"],
    ["A2", "Épicerie solidaire", "", "31320", "Castanet-Tolosan", "pas-un-courriel", "", "", "Alimentation"],
    ["A3", "", "", "", "", "", "", "", ""],
    ["A4", "Garage associatif", SIRET_BAD, "", "Toulouse", "", "", "", ""],
    ["A5", "Tiers-lieu du Quercy", "", "99999", "Commune imaginaire", "", "http://", "",
     "Numérique; Jardinage"],
]  # fmt: skip


@pytest.fixture
def territory(cog_sample):
    PostalCode.objects.bulk_create(
        [
            PostalCode(code="81100", commune=Commune.objects.get(code="81065")),
            PostalCode(code="31320", commune=Commune.objects.get(code="31113")),
            PostalCode(code="31000", commune=Commune.objects.get(code="31555")),
        ]
    )


def write_csv(path, header, rows, *, delimiter=";", encoding="utf-8", bom=False):
    lines = [delimiter.join(_quote(cell, delimiter) for cell in row) for row in [header, *rows]]
    data = "\r\n".join(lines) + "\r\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode(encoding))
    return path


def _quote(cell, delimiter):
    return f'"{cell}"' if delimiter in cell or '"' in cell else cell


def write_xlsx(path, header, rows, *, sheets=1):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for index in range(1, sheets):
        workbook.create_sheet(f"Feuille {index + 1}")
    workbook.save(path)
    return path


def source(name="Réseau ESS Tarn"):
    return import_source_for(name=name)


def test_french_headers_are_mapped_and_rows_imported_with_field_problems_reported(tmp_path, territory):
    path = write_csv(tmp_path / "adherents.csv", HEADER, ROWS)
    run = table_import(path=path, source=source())

    assert (run.rows_read, run.created, run.rejected) == (5, 3, 2)
    assert run.options["mapping"]["name"] == "Raison sociale"
    assert run.options["key_column"] == "Réf"
    assert run.options["delimiter"] == ";"
    recyclerie = Structure.objects.get(name="Recyclerie des Ateliers")
    assert recyclerie.commune.code == "81065"
    assert recyclerie.email == "contact@recyclerie.fr"
    assert recyclerie.website == "https://www.recyclerie.fr"
    assert recyclerie.siren == SIRET_A[:9]
    assert recyclerie.family == Family.ASSOCIATION
    assert sorted(recyclerie.themes.values_list("slug", flat=True)) == [
        "culture",
        "economie-circulaire-reemploi",
    ]
    # "Alimentation" is the start of one theme's label only: that theme.
    assert (
        Structure.objects.get(name="Épicerie solidaire").themes.get().slug == "alimentation-circuits-courts"
    )
    assert Establishment.objects.get(siret=SIRET_A).structure == recyclerie
    assert FieldProvenance.objects.get(structure=recyclerie, field="email").source == Source.CSV

    by_line = {entry["line"]: entry for entry in run.rows}
    assert by_line[3]["action"] == "created"  # The bad email is left out, the card is created.
    assert Structure.objects.get(name="Épicerie solidaire").email == ""
    assert any("pas-un-courriel" in p["message"] for p in by_line[3]["problems"])
    assert by_line[4]["action"] == "rejected" and by_line[4]["reasons"] == ["nom manquant."]
    assert by_line[5]["action"] == "rejected" and "clé de contrôle" in by_line[5]["reasons"][0]
    problems = {p["field"]: p["message"] for p in by_line[6]["problems"]}
    assert "99999" in problems["Code postal"]
    assert "Commune imaginaire" in problems["Commune (nom ou code INSEE)"]
    assert "http://" in problems["Site web"]
    assert "Jardinage" in problems["Thématiques"]
    assert Structure.objects.get(name="Tiers-lieu du Quercy").themes.get().label == "Numérique"
    assert {r["line"] for r in ImportRun.objects.get(pk=run.pk).rejections} == {4, 5}


def test_comma_delimiter_bom_and_cp1252_are_detected(tmp_path, territory):
    rows = [["B1", "Coopérative d'Ozon", "", "", "Toulouse", "", "", "", ""]]
    for name, kwargs in (
        ("comma-bom.csv", {"delimiter": ",", "bom": True}),
        ("cp1252.csv", {"delimiter": ";", "encoding": "cp1252"}),
    ):
        path = write_csv(tmp_path / name, HEADER, rows, **kwargs)
        with open_table(path) as table:
            assert table.header[1] == "Raison sociale"
            assert table.header[0] == "Réf"
        run = table_import(path=path, source=source(name))
        assert run.created == 1, run.rows
        assert run.options["delimiter"] == kwargs["delimiter"]
        assert run.options["encoding"] == ("utf-8-sig" if kwargs.get("bom") else "cp1252")
    assert list(Structure.objects.values_list("name", flat=True)) == ["Coopérative d'Ozon"] * 2


def test_xlsx_with_numbers_as_siret(tmp_path, territory):
    path = write_xlsx(
        tmp_path / "liste.xlsx",
        ["Nom", "SIRET", "Code postal", "Commune", "Famille"],
        [["La Scop du coin", int(SIRET_A), 81100, "Castres", "SCOP"], [None, None, None, None, None]],
    )
    run = table_import(path=path, source=source())
    assert (run.rows_read, run.created, run.rejected) == (1, 1, 0)
    structure = Structure.objects.get()
    assert (structure.family, structure.cooperative_kind) == (Family.COOPERATIVE, "scop")
    assert structure.commune.code == "81065"
    assert Establishment.objects.get().siret == SIRET_A


def test_rerun_updates_never_duplicates_and_dry_run_changes_nothing(tmp_path, territory):
    path = write_csv(tmp_path / "a.csv", HEADER, ROWS)
    table_import(path=path, source=source())
    count = Structure.objects.count()

    second = table_import(path=path, source=source())
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 2)
    assert Structure.objects.count() == count

    changed = [list(row) for row in ROWS]
    changed[0][5] = "nouveau@recyclerie.fr"
    changed[0][1] = "Recyclerie des Ateliers de Castres"
    path = write_csv(tmp_path / "b.csv", HEADER, changed)
    snapshot = list(Structure.objects.order_by("pk").values())
    audit = AuditLogEntry.objects.count()

    dry = table_import(path=path, source=source(), dry_run=True)
    assert dry.dry_run and (dry.updated, dry.unchanged) == (1, 2)
    assert next(e for e in dry.rows if e["line"] == 2)["fields"] == ["name", "email"]
    assert list(Structure.objects.order_by("pk").values()) == snapshot
    assert AuditLogEntry.objects.count() == audit + 1  # Only the run itself is logged.

    real = table_import(path=path, source=source())
    assert (real.updated, real.unchanged, real.created) == (1, 2, 0)
    recyclerie = Structure.objects.get(siren=SIRET_A[:9])
    assert (recyclerie.name, recyclerie.email) == (
        "Recyclerie des Ateliers de Castres",
        "nouveau@recyclerie.fr",
    )
    assert Structure.objects.count() == count


def test_rows_are_matched_by_siret_without_key_column(tmp_path, territory):
    existing = services.structure_create(name="Recyclerie", family=Family.ASSOCIATION, actor=None)
    Establishment.objects.create(siret=SIRET_A, structure=existing, is_head_office=True)
    path = write_csv(tmp_path / "a.csv", ["Nom", "SIRET", "Courriel"], [["Recyclerie", SIRET_A, "a@b.fr"]])
    run = table_import(path=path, source=source())
    assert (run.created, run.updated) == (0, 1)
    existing.refresh_from_db()
    assert existing.email == "a@b.fr"
    assert ImportedRecord.objects.get().structure == existing


def test_a_verified_field_goes_to_review_instead_of_being_overwritten(tmp_path, territory):
    path = write_csv(tmp_path / "a.csv", HEADER, ROWS[:1])
    table_import(path=path, source=source())
    structure = Structure.objects.get()
    services.structure_update(structure=structure, actor=None, email="verifie@recyclerie.fr")

    changed = [list(ROWS[0])]
    changed[0][5] = "autre@recyclerie.fr"
    changed[0][7] = "05 63 11 11 11"
    run = table_import(path=write_csv(tmp_path / "b.csv", HEADER, changed), source=source())

    structure.refresh_from_db()
    assert structure.email == "verifie@recyclerie.fr"
    assert structure.phone == "05 63 11 11 11"
    pending = PendingChange.objects.get()
    assert (pending.field, pending.old_value, pending.new_value) == (
        "email",
        "verifie@recyclerie.fr",
        "autre@recyclerie.fr",
    )
    assert pending.source == Source.CSV
    assert run.pending_changes == 1 and run.updated == 1
    assert run.rows[0]["pending"] == ["email"] and run.rows[0]["fields"] == ["phone"]


def test_a_row_the_database_refuses_is_rejected_and_the_others_imported(tmp_path, territory):
    other = services.structure_create(name="Autre", family=Family.ASSOCIATION, actor=None, siren=SIRET_A[:9])
    first = write_csv(tmp_path / "a.csv", ["Id", "Nom"], [["1", "Première"], ["2", "Seconde"]])
    table_import(path=first, source=source())
    # Row 1 now claims the SIREN of another card: refused by the unique constraint, row 2 still updated.
    second = write_csv(
        tmp_path / "b.csv", ["Id", "Nom", "SIREN"], [["1", "Première", SIRET_A[:9]], ["2", "Seconde bis", ""]]
    )
    run = table_import(path=second, source=source())
    assert run.rejected == 1 and run.updated == 1
    assert "SIREN" in run.rejections[0]["reason"]
    assert Structure.objects.filter(name="Seconde bis").exists()
    other.refresh_from_db()
    assert Structure.objects.filter(siren=SIRET_A[:9]).get() == other


def test_mapping_is_remembered_per_source(tmp_path, territory):
    header = ["Identifiant", "Structure adhérente", "Mail de contact"]
    path = write_csv(tmp_path / "a.csv", header, [["x1", "Asso des Jardins", "j@jardins.fr"]])
    call_command(
        "import_table",
        str(path),
        "--source",
        "Réseau du Quercy",
        "--mapping",
        json.dumps({"name": "Structure adhérente", "email": "Mail de contact"}),
        "--key",
        "Identifiant",
        verbosity=0,
    )
    remembered = ImportSource.objects.get(name="Réseau du Quercy")
    assert remembered.mapping == {"name": "Structure adhérente", "email": "Mail de contact"}
    assert guess_mapping(header, remembered.mapping)["email"] == "Mail de contact"
    assert guess_key_column(header, remembered.key_column) == "Identifiant"

    # Next file of the same source: no mapping given, the remembered one is used.
    path = write_csv(tmp_path / "b.csv", header, [["x1", "Asso des Jardins", "contact@jardins.fr"]])
    call_command("import_table", str(path), "--source", "Réseau du Quercy", verbosity=0)
    assert Structure.objects.get().email == "contact@jardins.fr"


def test_header_guess_from_french_names():
    header = ["N°", "Nom de l'association", "Adresse", "CP", "Ville", "E-mail", "Site web", "Tél.", "Thème"]
    mapping = guess_mapping(header)
    assert mapping == {
        "name": "Nom de l'association",
        "address": "Adresse",
        "postal_code": "CP",
        "commune": "Ville",
        "email": "E-mail",
        "website": "Site web",
        "phone": "Tél.",
        "themes": "Thème",
    }
    assert guess_key_column(header) == "N°"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vide"),
        (b"\xef\xbb\xbf\r\n", "vide"),
        (b";;\r\nx;y;z\r\n", "en-têtes"),
        (b"Nom;Ville\r\n\x81\x8d\x8f\r\n", "Encodage"),
    ],
)
def test_unreadable_files_give_a_french_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportError_, match=message):
        table_import(path=path, source=source())
    assert not Structure.objects.exists()


def test_workbook_errors(tmp_path):
    empty = Workbook()
    path = tmp_path / "vide.xlsx"
    empty.save(path)
    with pytest.raises(ImportError_, match="vide"):
        table_import(path=path, source=source())
    broken = tmp_path / "casse.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ImportError_, match="illisible"):
        table_import(path=broken, source=source())


def test_no_name_column_is_refused_by_the_command(tmp_path):
    path = write_csv(tmp_path / "a.csv", ["Ville", "Courriel"], [["Castres", "a@b.fr"]])
    with pytest.raises(CommandError, match="nom de la structure"):
        call_command("import_table", str(path), "--source", "S", verbosity=0)
    with pytest.raises(CommandError, match="JSON"):
        call_command("import_table", str(path), "--source", "S", "--mapping", "{", verbosity=0)
    assert not Structure.objects.exists()


def test_command_prints_progress_and_report(tmp_path, territory, capsys):
    path = write_csv(tmp_path / "a.csv", HEADER, ROWS)
    call_command("import_table", str(path), "--source", "Réseau", "--dry-run")
    out, err = capsys.readouterr()
    assert "Essai à blanc" in out and "3 créée(s)" in out and "2 rejetée(s)" in out
    assert "ligne 4 rejetée : nom manquant." in out
    assert "100 %" in err and "5 / 5 lignes" in err
    assert not Structure.objects.exists()
