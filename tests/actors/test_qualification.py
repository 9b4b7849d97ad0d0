import csv
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from essaim.actors.identifiers import validate_rna, validate_siren, validate_siret
from essaim.actors.models import LegalCategory
from essaim.actors.qualification import STATUTORY_ESS, qualify

CATEGORIES_FILE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "categories_juridiques_niveau3.csv"
)


@pytest.mark.parametrize("value", ["775672272", "356000000", "732829320"])
def test_valid_sirens(value):
    validate_siren(value)


@pytest.mark.parametrize("value", ["775672273", "77567227", "7756722720", "77567227A", ""])
def test_invalid_sirens_are_refused_in_french(value):
    with pytest.raises(ValidationError, match="SIREN"):
        validate_siren(value)


def test_siret_luhn_and_la_poste_rule():
    validate_siret("77567227200017")
    with pytest.raises(ValidationError, match="clé de contrôle"):
        validate_siret("77567227200018")
    # La Poste's establishments (SIREN 356000000) follow the sum-of-digits-multiple-of-5 rule, not Luhn.
    validate_siret("35600000049837")
    with pytest.raises(ValidationError, match="clé de contrôle"):
        validate_siret("35600000049838")
    with pytest.raises(ValidationError, match="14 chiffres"):
        validate_siret("3560000004983")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("W313012345", True),
        ("W2B1001234", True),
        ("W31301234", False),
        ("X313012345", False),
        ("w313012345", False),
    ],
)
def test_rna_format(value, ok):
    if ok:
        validate_rna(value)
    else:
        with pytest.raises(ValidationError, match="RNA"):
            validate_rna(value)


@pytest.mark.parametrize(
    ("code", "flag", "family", "kind", "is_ess"),
    [
        ("9220", "N", "association", "", True),
        ("9220", None, "association", "", True),
        ("5458", "O", "cooperative", "scop", True),
        ("5558", None, "cooperative", "scop", True),
        ("5658", "N", "cooperative", "scop", True),
        ("6317", None, "cooperative", "agricole", True),
        ("5651", None, "cooperative", "consommateurs", True),
        ("5560", None, "cooperative", "autre", True),
        ("8210", None, "mutuelle", "", True),
        ("8290", None, "mutuelle", "", True),
        ("9300", None, "fondation", "", True),
        ("5710", "O", "esus", "", True),
        ("5499", "O", "esus", "", True),
        ("5710", "N", "other", "", False),
        ("5710", None, "other", "", False),
        ("7210", "O", "public", "", False),
        ("8140", None, "other", "", False),
        ("9150", None, "other", "", False),
        ("7349", None, "public", "", False),
        ("", None, "other", "", False),
    ],
)
def test_qualification_rules(code, flag, family, kind, is_ess):
    result = qualify(legal_category=code, ess_flag=flag)
    assert (result.family, result.cooperative_kind, result.is_ess) == (family, kind, is_ess)
    assert result.rule_text.startswith(code or "Catégorie")


def test_rule_text_is_french_and_names_the_category():
    assert qualify(legal_category="9220", ess_flag=None).rule_text == (
        "9220 Association déclarée → association (ESS par son statut)"
    )
    assert "SCOP" in qualify(legal_category="5458", ess_flag=None).rule_text
    text = qualify(legal_category="5710", ess_flag="O", label="SAS, société par actions simplifiée").rule_text
    assert text.startswith("5710 SAS, société par actions simplifiée → entreprise commerciale de l'ESS")
    assert "non signalée ESS" in qualify(legal_category="5710", ess_flag="N").rule_text


def _write(tmp_path, text, encoding="utf-8"):
    path = tmp_path / "categories.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.django_db
def test_legal_categories_load_command_upserts(tmp_path):
    path = _write(tmp_path, "\ufeffcode;libelle\r\n9220;Association déclarée\r\n5710;SAS\r\n")
    call_command("legal_categories_load", str(path), verbosity=0)
    assert dict(LegalCategory.objects.values_list("code", "label")) == {
        "9220": "Association déclarée",
        "5710": "SAS",
    }
    path = _write(
        tmp_path, "code;libelle\n5710;SAS, société par actions simplifiée\n9300;Fondation\n", "cp1252"
    )
    call_command("legal_categories_load", str(path), verbosity=0)
    assert LegalCategory.objects.get(code="5710").label == "SAS, société par actions simplifiée"
    assert LegalCategory.objects.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [("nom;valeur\n1;2\n", "en-tête"), ("code;libelle\n92;Asso\n", "ligne 2"), ("code;libelle\n", "aucune")],
)
def test_legal_categories_load_refuses_a_bad_file_without_changing_anything(tmp_path, text, message):
    LegalCategory.objects.create(code="9220", label="Association déclarée")
    with pytest.raises(CommandError, match=message):
        call_command("legal_categories_load", str(_write(tmp_path, text)), verbosity=0)
    assert list(LegalCategory.objects.values_list("code", flat=True)) == ["9220"]


@pytest.mark.shared_data
@pytest.mark.skipif(
    not CATEGORIES_FILE.is_file(), reason="../shared/data/categories_juridiques_niveau3.csv absent"
)
@pytest.mark.django_db
def test_real_categories_file_loads_and_matches_the_qualification_table():
    call_command("legal_categories_load", str(CATEGORIES_FILE), verbosity=0)
    with CATEGORIES_FILE.open(encoding="utf-8-sig") as handle:
        rows = {
            row["code"]: " ".join(row["libelle"].split()) for row in csv.DictReader(handle, delimiter=";")
        }
    assert LegalCategory.objects.count() == len(rows)
    # Every code of the ESS table exists with the label written in the code.
    for code, (label, _family, _kind) in STATUTORY_ESS.items():
        assert rows[code] == label, code
    # Every category whose label names a cooperative ("coopérative", not "coopération") is qualified as one.
    for code, label in rows.items():
        if "coopérative" in label.lower():
            assert qualify(legal_category=code, ess_flag=None).family == "cooperative", code


def test_siren_and_siret_checks_agree_with_python_stdnum():
    import random

    from stdnum.fr import siren, siret

    from essaim.actors.identifiers import siren_error, siret_error

    rng = random.Random(20261123)
    for _ in range(20_000):
        number = f"{rng.randrange(10**9):09d}"
        assert (siren_error(number) == "") == siren.is_valid(number), number
        prefix = "356000000" if rng.random() < 0.3 else f"{rng.randrange(10**9):09d}"
        number = f"{prefix}{rng.randrange(10**5):05d}"
        assert (siret_error(number) == "") == siret.is_valid(number), number
