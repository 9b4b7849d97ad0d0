import json
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from essaim.core.models import AuditLogEntry
from essaim.territories import cog
from essaim.territories.exceptions import TerritoryError
from essaim.territories.models import Commune, Departement, Epci, Perimeter, PostalCode, Region
from essaim.territories.services import perimeter_save, territories_load_cog
from tests.territories.fixtures import KEPT_COMMUNES, cog_data, pack_cog, write_cog


def snapshot():
    """Everything the COG loader writes, ids included, to compare database states."""
    return {
        "regions": list(Region.objects.order_by("code").values_list()),
        "departements": list(Departement.objects.order_by("code").values_list()),
        "epci": list(Epci.objects.order_by("code").values_list()),
        "communes": list(Commune.objects.order_by("code").values_list()),
        "postal": sorted(PostalCode.objects.values_list("id", "code", "commune__code")),
    }


@pytest.mark.django_db
def test_load_keeps_metropole_and_drom_current_communes_with_epci_and_postal_codes(cog_dir, capsys):
    call_command("territories_load", source=str(cog_dir))

    assert Region.objects.count() == 5
    assert Departement.objects.count() == 6
    assert Epci.objects.count() == 3
    assert Commune.objects.count() == KEPT_COMMUNES
    assert not Commune.objects.filter(code__in=["97502", "31002", "75101"]).exists()
    ramonville = Commune.objects.get(code="31446")
    assert ramonville.epci.name == "CA du Sicoval"
    assert ramonville.departement.region.name == "Occitanie"
    assert ramonville.search_name == "ramonville saint agne"
    assert ramonville.population == 14877
    assert list(ramonville.postal_codes.values_list("code", flat=True)) == ["31520"]
    assert sorted(Commune.objects.get(code="31555").postal_codes.values_list("code", flat=True)) == [
        "31000",
        "31100",
        "31200",
    ]
    labastide = Commune.objects.get(code="31999")
    assert labastide.population is None and labastide.epci is None
    out = capsys.readouterr().out
    assert f"communes : {KEPT_COMMUNES} (ajout {KEPT_COMMUNES}" in out
    assert AuditLogEntry.objects.filter(verb="territories.cog.loaded").count() == 1


@pytest.mark.django_db
def test_commune_str_needs_no_query(territories, django_assert_num_queries):
    commune = Commune.objects.get(code="31446")
    with django_assert_num_queries(0):
        assert str(commune) == "Ramonville-Saint-Agne (31)"


@pytest.mark.django_db
def test_loading_twice_gives_the_same_database(cog_dir):
    territories_load_cog(source=cog_dir)
    first = snapshot()
    summary = territories_load_cog(source=cog_dir)
    assert snapshot() == first
    assert (
        sum(summary.created.values()) == sum(summary.updated.values()) == sum(summary.deleted.values()) == 0
    )


@pytest.mark.django_db
def test_reload_updates_names_populations_memberships_and_removes_stale_rows(tmp_path, cog_dir):
    territories_load_cog(source=cog_dir)
    perimeter_save(slug="sicoval", name="Sicoval", kind="epci", epci_codes=["243100633"])
    ids_before = dict(Commune.objects.values_list("code", "id"))

    data = cog_data()
    toulouse = next(c for c in data["communes"] if c["code"] == "31555")
    toulouse["population"] = 510000
    toulouse["codesPostaux"] = ["31000", "31400"]
    data["communes"] = [c for c in data["communes"] if c["code"] != "54999"]
    # Colomiers leaves Toulouse Métropole for the Sicoval.
    data["epci"][1]["membres"] = [{"code": "31555"}]
    data["epci"][0]["membres"].append({"code": "31149"})
    data["epci"][0]["nom"] = "Communauté d'agglomération du Sicoval"
    summary = territories_load_cog(source=write_cog(tmp_path / "v2", data))

    assert summary.updated["communes"] == 2 and summary.deleted["communes"] == 1
    toulouse_row = Commune.objects.get(code="31555")
    assert toulouse_row.population == 510000
    assert toulouse_row.id == ids_before["31555"]
    assert sorted(toulouse_row.postal_codes.values_list("code", flat=True)) == ["31000", "31400"]
    assert not Commune.objects.filter(code="54999").exists()
    assert Commune.objects.get(code="31149").epci_id == "243100633"
    assert Epci.objects.get(code="243100633").name == "Communauté d'agglomération du Sicoval"
    # Perimeters built from an EPCI follow its new membership.
    assert summary.perimeters_rebuilt == 1
    sicoval = Perimeter.objects.get(slug="sicoval")
    assert set(Commune.objects.in_perimeter(sicoval).values_list("code", flat=True)) == {
        "31446",
        "31113",
        "31149",
    }


def _truncate(directory: Path, name: str) -> None:
    path = directory / "data" / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


def _corrupt_departement(directory: Path, name: str) -> None:
    data = json.loads((directory / "data" / name).read_text(encoding="utf-8"))
    data[0]["departement"] = "99"
    (directory / "data" / name).write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: _truncate(d, "communes.json"), "communes.json corrompu ou tronqué"),
        (lambda d: _truncate(d, "epci.json"), "epci.json corrompu ou tronqué"),
        (lambda d: (d / "data" / "departements.json").unlink(), "Fichier manquant"),
        (
            lambda d: (d / "data" / "regions.json").write_text('{"code": "76"}'),
            "une liste d'objets est attendue",
        ),
        (lambda d: _corrupt_departement(d, "communes.json"), "département inconnu « 99 »"),
        (
            lambda d: (d / "package.json").write_text(
                '{"name": "@etalab/decoupage-administratif", "version": "5.2.0"}'
            ),
            "Version inattendue",
        ),
    ],
)
def test_bad_source_is_refused_and_leaves_the_database_unchanged(tmp_path, cog_dir, damage, message):
    territories_load_cog(source=cog_dir)
    before = snapshot()
    data = cog_data()
    next(c for c in data["communes"] if c["code"] == "31555")["nom"] = "Toulouse modifiée"
    broken = write_cog(tmp_path / "broken", data)
    damage(broken)

    with pytest.raises(CommandError, match=message) as excinfo:
        call_command("territories_load", source=str(broken))

    assert "Aucune donnée n'a été modifiée" in str(excinfo.value)
    assert snapshot() == before


@pytest.mark.django_db
def test_failure_during_write_rolls_everything_back(tmp_path, cog_dir, monkeypatch):
    territories_load_cog(source=cog_dir)
    before = snapshot()
    data = cog_data()
    data["communes"][0]["nom"] = "Toulouse modifiée"

    def boom(postal_codes, summary):
        raise TerritoryError("panne simulée")

    monkeypatch.setattr(cog, "_sync_postal_codes", boom)
    with pytest.raises(TerritoryError):
        territories_load_cog(source=write_cog(tmp_path / "v2", data))
    assert snapshot() == before


@pytest.mark.django_db
def test_load_from_npm_pack_tarball(tmp_path, cog_dir):
    tarball = pack_cog(cog_dir, tmp_path / "cog.tgz")
    call_command("territories_load", source=str(tarball))
    assert Commune.objects.count() == KEPT_COMMUNES


@pytest.mark.django_db
def test_truncated_tarball_is_refused(tmp_path, cog_dir):
    tarball = pack_cog(cog_dir, tmp_path / "cog.tgz")
    tarball.write_bytes(tarball.read_bytes()[:-4000])
    with pytest.raises(CommandError, match=r"Archive COG illisible ou tronquée|corrompu ou tronqué"):
        call_command("territories_load", source=str(tarball))
    assert Commune.objects.count() == 0


@pytest.mark.django_db
def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Source COG introuvable"):
        call_command("territories_load", source=str(tmp_path / "nowhere"))


def test_fetch_without_npm_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(cog.shutil, "which", lambda name: None)
    with pytest.raises(TerritoryError, match="npm est introuvable"):
        cog.cog_tarball_fetch(cache_dir=tmp_path)


def test_fetched_tarball_with_wrong_checksum_is_deleted(tmp_path, monkeypatch):
    # A stand-in for npm that "downloads" a tarball whose content differs from the pinned one.
    fake_npm = tmp_path / "npm"
    fake_npm.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "--pack-destination" ]; do shift; done\n'
        'echo tampered > "$2/etalab-decoupage-administratif-6.0.0.tgz"\n'
    )
    fake_npm.chmod(fake_npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(cog.shutil, "which", lambda name: str(fake_npm))
    cache = tmp_path / "cache"
    with pytest.raises(TerritoryError, match="Somme de contrôle invalide"):
        cog.cog_tarball_fetch(cache_dir=cache)
    assert not (cache / cog.COG_TARBALL_NAME).exists()


def test_failing_npm_is_a_clear_error(tmp_path, monkeypatch):
    fake_npm = tmp_path / "npm"
    fake_npm.write_text("#!/bin/sh\necho 'npm error code ENOTFOUND' >&2\nexit 1\n")
    fake_npm.chmod(fake_npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(cog.shutil, "which", lambda name: str(fake_npm))
    with pytest.raises(TerritoryError, match=r"Impossible de télécharger.*ENOTFOUND"):
        cog.cog_tarball_fetch(cache_dir=tmp_path / "cache")


def test_pinned_integrity_matches_the_lock_file():
    lock = json.loads((Path(__file__).resolve().parents[2] / "package-lock.json").read_text(encoding="utf-8"))
    entry = lock["packages"][f"node_modules/{cog.COG_PACKAGE}"]
    assert entry["version"] == cog.COG_VERSION
    assert entry["integrity"] == cog.COG_INTEGRITY
