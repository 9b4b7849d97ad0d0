import pytest

from essaim.core.models import AuditLogEntry
from essaim.territories.exceptions import TerritoryError
from essaim.territories.models import Commune
from essaim.territories.services import territories_geocode_missing


class FakeGeocoder:
    """Stands in for geo.api.gouv.fr: answers ``answers`` times, then the network fails."""

    def __init__(self, answers: int):
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, code: str):
        if len(self.asked) >= self.answers:
            raise OSError("connexion réinitialisée")
        self.asked.append(code)
        return 44.0 + len(self.asked) / 10, 1.5


@pytest.mark.django_db
def test_network_failure_midway_keeps_the_points_and_an_audit_record(territories):
    geocoder = FakeGeocoder(answers=2)

    with pytest.raises(TerritoryError, match=r"injoignable.*2 commune\(s\) déjà complétée\(s\)"):
        territories_geocode_missing(geocoder=geocoder)

    assert len(geocoder.asked) == 2
    assert set(Commune.objects.with_point().values_list("code", flat=True)) == set(geocoder.asked)
    entry = AuditLogEntry.objects.get(verb="territories.points.geocoded")
    assert entry.data["communes"] == 2
    assert entry.data["codes"] == geocoder.asked
    assert entry.data["interrupted"] is True
    assert "connexion réinitialisée" in entry.data["error"]


@pytest.mark.django_db
def test_complete_run_is_logged_once_and_skips_unknown_communes(territories):
    total = Commune.objects.count()

    def geocoder(code):
        return None if code == "31999" else (45.0, 2.0)

    assert territories_geocode_missing(geocoder=geocoder) == total - 1
    entry = AuditLogEntry.objects.get(verb="territories.points.geocoded")
    assert (entry.data["communes"], entry.data["interrupted"]) == (total - 1, False)
    assert not Commune.objects.get(code="31999").latitude
