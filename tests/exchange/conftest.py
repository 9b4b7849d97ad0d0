import pytest

from essaim.actors.models import Membership, Theme
from essaim.core.text import normalize
from essaim.exchange import services
from essaim.territories.models import Commune, Departement, Region
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory


@pytest.fixture
def communes(db):
    """Caussade, Montauban (about 22 km apart) and Nontron (far away)."""
    occitanie = Region.objects.create(code="76", name="Occitanie")
    aquitaine = Region.objects.create(code="75", name="Nouvelle-Aquitaine")
    tarn_et_garonne = Departement.objects.create(code="82", name="Tarn-et-Garonne", region=occitanie)
    dordogne = Departement.objects.create(code="24", name="Dordogne", region=aquitaine)
    rows = [
        ("82037", "Caussade", tarn_et_garonne, 44.161, 1.537),
        ("82121", "Montauban", tarn_et_garonne, 44.018, 1.355),
        ("24311", "Nontron", dordogne, 45.529, 0.662),
    ]
    return {
        name: Commune.objects.create(
            code=code, name=name, search_name=normalize(name), departement=dep, latitude=lat, longitude=lon
        )
        for code, name, dep, lat, lon in rows
    }


@pytest.fixture
def themes(db):
    # Some themes may already be seeded by a migration: reuse them.
    return {
        slug: Theme.objects.get_or_create(slug=slug, defaults={"label": label})[0]
        for slug, label in (("alimentation", "Alimentation"), ("culture", "Culture"), ("emploi", "Emploi"))
    }


@pytest.fixture
def people(db):
    """A structure with one member, a facilitator, an outsider."""
    structure = StructureFactory(name="Épicerie solidaire")
    member = UserFactory()
    Membership.objects.create(user=member, structure=structure)
    return {
        "structure": structure,
        "member": member,
        "facilitator": FacilitatorFactory(),
        "outsider": UserFactory(),
    }


def make_listing(*, structure, publish=True, themes=(), **fields):
    """A listing of ``structure`` created (and published) through the services."""
    fields.setdefault("direction", "offer")
    fields.setdefault("kind", "equipment")
    fields.setdefault("title", "Camion frigorifique")
    listing = services.listing_create(structure=structure, actor=None, themes=themes, **fields)
    if publish:
        listing = services.listing_publish(listing=listing, actor=None)
    return listing
