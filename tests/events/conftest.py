import datetime

import pytest
from django.utils import timezone

from essaim.core.text import normalize
from essaim.events import services
from essaim.events.models import EventStatus
from essaim.territories.models import Commune, Departement, Epci, Region


def at(days: int = 10, hour: int = 9) -> datetime.datetime:
    """A datetime ``days`` from now at ``hour`` (local time)."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def communes(db):
    """Two communes of the Pays Midi-Quercy (two EPCI) and one in Dordogne."""
    occitanie = Region.objects.create(code="76", name="Occitanie")
    aquitaine = Region.objects.create(code="75", name="Nouvelle-Aquitaine")
    tarn_et_garonne = Departement.objects.create(code="82", name="Tarn-et-Garonne", region=occitanie)
    dordogne = Departement.objects.create(code="24", name="Dordogne", region=aquitaine)
    caussadais = Epci.objects.create(code="248200057", name="CC du Quercy Caussadais", kind="CC")
    quercy_vert = Epci.objects.create(code="200066884", name="CC Quercy Vert-Aveyron", kind="CC")
    rows = [
        ("82037", "Caussade", tarn_et_garonne, caussadais, 44.16, 1.53),
        ("82137", "Nègrepelisse", tarn_et_garonne, quercy_vert, 44.07, 1.52),
        ("24311", "Nontron", dordogne, None, 45.53, 0.66),
    ]
    return {
        code: Commune.objects.create(
            code=code,
            name=name,
            search_name=normalize(name),
            departement=departement,
            epci=epci,
            latitude=lat,
            longitude=lon,
        )
        for code, name, departement, epci, lat, lon in rows
    }


def make_event(*, title="Rencontre de l'ESS", capacity=None, status=EventStatus.PUBLISHED, days=10, **fields):
    """A published event with open registration (pass fields to vary it)."""
    fields.setdefault("place_name", "Salle des fêtes")
    fields.setdefault("registration_open", True)
    return services.event_create(
        actor=None,
        title=title,
        start=fields.pop("start", at(days, 9)),
        end=fields.pop("end", at(days, 17)),
        capacity=capacity,
        status=status,
        **fields,
    )


@pytest.fixture
def event(db):
    return make_event(capacity=2)
