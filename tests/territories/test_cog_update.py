"""A yearly COG update: merged communes, vanished EPCI, perimeters that would become empty."""

import pytest
from django.core.management import call_command

from essaim.actors.models import Structure
from essaim.core.models import AuditLogEntry
from essaim.territories.models import Commune, Perimeter
from essaim.territories.services import perimeter_save, territories_load_cog
from tests.factories import StructureFactory
from tests.territories.fixtures import cog_data, write_cog
from tests.territories.test_cog_load import snapshot


def commune_codes(perimeter):
    return set(Commune.objects.in_perimeter(perimeter).values_list("code", flat=True))


def merge(data, old, new):
    """``old`` stops being a current commune and becomes a commune déléguée of ``new`` (as in the COG)."""
    entry = next(c for c in data["communes"] if c["code"] == old)
    entry["type"] = "commune-deleguee"
    entry["chefLieu"] = new
    for epci in data["epci"]:
        epci["membres"] = [m for m in epci["membres"] if m["code"] != old]
    # The new commune's own commune déléguée keeps its code: it must not be taken for a merge.
    chef_lieu = next(c for c in data["communes"] if c["code"] == new)
    data["communes"].append({**chef_lieu, "type": "commune-deleguee", "chefLieu": new})
    return data


def drop_epci(data, code):
    data["epci"] = [e for e in data["epci"] if e["code"] != code]
    return data


def last_load_entry():
    return AuditLogEntry.objects.filter(verb="territories.cog.loaded").latest("id")


@pytest.mark.django_db
def test_merge_repoints_structures_and_perimeters_to_the_new_commune(territories, tmp_path, capsys):
    ramonville = Commune.objects.get(code="31446")
    merged_structure = StructureFactory(commune=ramonville)
    untouched = StructureFactory(commune=Commune.objects.get(code="31555"))
    perimeter = perimeter_save(
        slug="p", name="Pays", kind="custom", commune_codes=["31446", "31555"], is_home=True
    )
    v2 = write_cog(tmp_path / "v2", merge(cog_data(), "31446", "31113"))

    call_command("territories_load", source=str(v2))

    assert not Commune.objects.filter(code="31446").exists()
    merged_structure.refresh_from_db()
    untouched.refresh_from_db()
    assert merged_structure.commune.code == "31113"
    assert untouched.commune.code == "31555"
    perimeter.refresh_from_db()
    assert perimeter.definition["commune"] == ["31113", "31555"]
    assert commune_codes(perimeter) == {"31113", "31555"}
    assert Structure.objects.in_perimeter(perimeter).count() == 2
    data = last_load_entry().data
    assert data["merged"] == {"31446": "31113"}
    assert data["repointed"] == {"actors.Structure": 1}
    assert data["perimeters"][0]["renamed"] == {"31446": "31113"}
    assert data["perimeters"][0]["unknown"] == {}
    out = capsys.readouterr().out
    assert "actors.Structure : 1 rattachement(s) à la commune nouvelle" in out
    assert "31446 → 31113" in out


@pytest.mark.django_db
def test_second_load_of_the_update_changes_nothing(territories, tmp_path):
    StructureFactory(commune=Commune.objects.get(code="31446"))
    perimeter_save(slug="p", name="Pays", kind="custom", commune_codes=["31446"])
    v2 = write_cog(tmp_path / "v2", merge(cog_data(), "31446", "31113"))
    territories_load_cog(source=v2)
    before = (snapshot(), list(Structure.objects.values_list("id", "commune_id")), Perimeter.objects.get())
    definition = before[2].definition

    summary = territories_load_cog(source=v2)

    assert (snapshot(), list(Structure.objects.values_list("id", "commune_id"))) == before[:2]
    assert Perimeter.objects.get().definition == definition
    assert summary.merged == summary.repointed == {}
    assert summary.perimeters_rebuilt == 0 and summary.perimeter_reports == []


@pytest.mark.django_db
def test_structure_of_a_commune_gone_without_successor_is_counted(territories, tmp_path):
    structure = StructureFactory(commune=Commune.objects.get(code="54999"))
    data = cog_data()
    data["communes"] = [c for c in data["communes"] if c["code"] != "54999"]

    summary = territories_load_cog(source=write_cog(tmp_path / "v2", data))

    structure.refresh_from_db()
    assert structure.commune is None
    assert summary.orphaned == {"actors.Structure": 1} and summary.repointed == {}
    assert last_load_entry().data["orphaned"] == {"actors.Structure": 1}


@pytest.mark.django_db
def test_vanished_epci_is_reported_per_perimeter(territories, tmp_path, capsys):
    perimeter = perimeter_save(
        slug="deux-epci", name="Deux EPCI", kind="custom", epci_codes=["243100633", "200066348"]
    )
    v2 = write_cog(tmp_path / "v2", drop_epci(cog_data(), "200066348"))

    call_command("territories_load", source=str(v2))

    assert commune_codes(perimeter) == {"31446", "31113"}
    perimeter.refresh_from_db()
    assert perimeter.definition["epci"] == ["200066348", "243100633"]  # left for a person to fix
    report = last_load_entry().data["perimeters"]
    assert report == [
        {
            "slug": "deux-epci",
            "is_home": False,
            "unknown": {"epci": ["200066348"]},
            "renamed": {},
            "kept_previous": False,
            "communes": 2,
        }
    ]
    out = capsys.readouterr().out
    assert "Périmètre « Deux EPCI » : codes disparus du COG, ignorés : EPCI : 200066348" in out
    assert "à corriger" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("also_merge", "kept"),
    [(False, {"82075"}), (True, {"82121"})],
    ids=["epci-gone", "epci-gone-and-commune-merged"],
)
def test_home_perimeter_that_would_become_empty_is_kept_and_reported(
    territories, tmp_path, capsys, also_merge, kept
):
    home = perimeter_save(slug="qva", name="Quercy", kind="epci", epci_codes=["200066348"], is_home=True)
    structure = StructureFactory(commune=Commune.objects.get(code="82075"))
    data = drop_epci(cog_data(), "200066348")
    if also_merge:
        data = merge(data, "82075", "82121")

    summary = territories_load_cog(source=write_cog(tmp_path / "v2", data))
    call_command("territories_load", source=str(tmp_path / "v2"))

    home.refresh_from_db()
    assert home.is_home
    assert commune_codes(home) == kept
    assert list(Structure.objects.in_perimeter(home)) == [structure]
    (report,) = summary.perimeters_needing_attention
    assert (report.slug, report.is_home, report.kept_previous) == ("qva", True, True)
    assert report.unknown == {"epci": ["200066348"]}
    assert last_load_entry().data["perimeters"][0]["kept_previous"] is True
    out = capsys.readouterr().out
    assert "Périmètre « Quercy » (territoire d'action)" in out
    assert "le périmètre serait devenu vide : ses 1 communes précédentes sont conservées" in out
