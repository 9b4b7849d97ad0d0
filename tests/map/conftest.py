import pytest

from essaim.core.text import normalize
from essaim.territories.models import Commune, Departement, Perimeter, PerimeterCommune, Region


def make_commune(code: str, name: str, latitude: float | None, longitude: float | None) -> Commune:
    region, _ = Region.objects.get_or_create(code="76", defaults={"name": "Occitanie"})
    departement, _ = Departement.objects.get_or_create(
        code=code[:2], defaults={"name": f"Département {code[:2]}", "region": region}
    )
    return Commune.objects.create(
        code=code,
        name=name,
        search_name=normalize(name),
        departement=departement,
        latitude=latitude,
        longitude=longitude,
    )


@pytest.fixture
def communes(db):
    """Two communes of the Tarn with a point, one without."""
    return {
        "castres": make_commune("81065", "Castres", 43.6060, 2.2410),
        "albi": make_commune("81004", "Albi", 43.9277, 2.1470),
        "nowhere": make_commune("81999", "Sans-Point", None, None),
    }


@pytest.fixture
def tarn(communes):
    perimeter = Perimeter.objects.create(name="Tarn sud", slug="tarn-sud", kind="custom")
    PerimeterCommune.objects.create(perimeter=perimeter, commune=communes["castres"])
    return perimeter
