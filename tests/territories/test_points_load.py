import pytest
from django.core.management import CommandError, call_command

from essaim.territories.exceptions import TerritoryError
from essaim.territories.models import Commune, PostalCode
from essaim.territories.services import territories_load_points
from tests.territories.fixtures import KEPT_COMMUNES, LAPOSTE_ROWS, write_laposte


def state():
    return (
        sorted(Commune.objects.values_list("code", "latitude", "longitude")),
        sorted(PostalCode.objects.values_list("code", "commune__code")),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("cp1252", False)])
def test_points_and_postal_codes_are_loaded_whatever_the_encoding(
    territories, tmp_path, capsys, encoding, bom
):
    path = write_laposte(tmp_path / "laposte.csv", encoding=encoding, bom=bom)
    call_command("territories_points", str(path))

    toulouse = Commune.objects.get(code="31555")
    assert (toulouse.latitude, toulouse.longitude) == (43.596038, 1.432168)
    # Paris is listed by arrondissement: its point is their mean.
    paris = Commune.objects.get(code="75056")
    assert paris.latitude == pytest.approx((48.8625 + 48.8683) / 2)
    assert paris.longitude == pytest.approx((2.3365 + 2.3428) / 2)
    # A row without coordinates gives no point; postal codes missing from the COG are added.
    assert Commune.objects.get(code="54999").latitude is None
    assert Commune.objects.get(code="31999").latitude is None
    assert PostalCode.objects.filter(code="31500", commune__code="31555").exists()
    out = capsys.readouterr().out
    # 31002 (an old commune) is not in the COG: counted, not fatal.
    assert "absents du COG chargé (anciennes communes, outre-mer hors DROM ; ignorés) : 1 (ex. 31002)" in out
    with_point = KEPT_COMMUNES - 2
    assert (
        f"{with_point}/{KEPT_COMMUNES} communes ont un point ({100 * with_point / KEPT_COMMUNES:.2f} %)"
        in out
    )


@pytest.mark.django_db
def test_loading_points_twice_gives_the_same_database(territories, tmp_path):
    path = write_laposte(tmp_path / "laposte.csv")
    territories_load_points(path=path)
    first = state()
    summary = territories_load_points(path=path)
    assert state() == first
    assert summary.communes_updated == summary.postal_codes_added == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (
            LAPOSTE_ROWS,
            "Code_commune_INSEE,Nom_commune,Code_postal,coordonnees_gps",
            "En-tête du fichier La Poste",
        ),
        (
            LAPOSTE_ROWS,
            "Code_commune_INSEE;Nom_commune;Code_postal;Ligne_5",
            "colonnes manquantes coordonnees_gps",
        ),
        ([*LAPOSTE_ROWS[:3], "31446;RAMONVILLE;31520;;RAMONVILLE;43.5,abc"], None, "ligne 5 : coordonnées"),
        ([*LAPOSTE_ROWS[:3], "31446;RAMONVILLE;31520;;RAMONVILLE;143.5,1.2"], None, "ligne 5 : coordonnées"),
        ([*LAPOSTE_ROWS[:3], "31446;RAMONVILLE;31520;;RAMONVILLE;43.5"], None, "ligne 5 : coordonnées"),
        ([*LAPOSTE_ROWS[:3], "31446;RAMONVI"], None, "corrompu ou tronqué, ligne 5"),
        ([*LAPOSTE_ROWS[:3], "3144X;RAMONVILLE;31520;;RAMONVILLE;43.5,1.2"], None, "code INSEE « 3144X »"),
        ([], None, "sans aucune ligne"),
    ],
)
def test_bad_file_is_refused_and_nothing_is_written(territories, tmp_path, rows, header, message):
    before = state()
    path = write_laposte(tmp_path / "bad.csv", rows, **({"header": header} if header else {}))
    with pytest.raises(CommandError, match=message):
        call_command("territories_points", str(path))
    assert state() == before


@pytest.mark.django_db
def test_points_need_the_cog(tmp_path):
    with pytest.raises(TerritoryError, match="chargez d'abord le COG"):
        territories_load_points(path=write_laposte(tmp_path / "laposte.csv"))


@pytest.mark.django_db
def test_missing_file_is_a_clear_error(territories, tmp_path):
    with pytest.raises(CommandError, match="Fichier La Poste introuvable"):
        call_command("territories_points", str(tmp_path / "absent.csv"))


def test_header_is_checked_before_anything(tmp_path):
    # No database needed: validation happens while reading.
    with pytest.raises(TerritoryError, match="vide"):
        territories_load_points(path=write_laposte(tmp_path / "empty.csv", [], header=""))
