"""Full loads of the real reference data: the only slow tests of the app (one COG load for the module)."""

from pathlib import Path

import pytest
from django.core.management import call_command

from essaim.core.models import AuditLogEntry
from essaim.territories.models import Commune, Departement, Epci, PostalCode, Region

REPO_ROOT = Path(__file__).resolve().parents[2]
COG_PACKAGE = REPO_ROOT / "node_modules" / "@etalab" / "decoupage-administratif"
LAPOSTE_FILE = REPO_ROOT.parent / "shared" / "data" / "laposte_hexasmal.csv"

pytestmark = pytest.mark.skipif(not COG_PACKAGE.is_dir(), reason="node_modules absent (lancez npm ci)")


@pytest.fixture(scope="module")
def real_cog(django_db_setup, django_db_blocker):
    """Load the real COG once for the module, and empty the tables afterwards."""
    with django_db_blocker.unblock():
        call_command("territories_load", source=str(COG_PACKAGE), verbosity=0)
        yield
        PostalCode.objects.all().delete()
        Commune.objects.all().delete()
        Epci.objects.all().delete()
        Departement.objects.all().delete()
        Region.objects.all().delete()
        AuditLogEntry.objects.filter(verb__startswith="territories.").delete()


@pytest.mark.django_db
def test_real_cog_counts(real_cog):
    assert Region.objects.count() == 18
    assert Departement.objects.count() == 101
    assert 1200 <= Epci.objects.count() <= 1300
    assert 34_800 <= Commune.objects.count() <= 35_100
    # Every commune but a few islands without intercommunality belongs to an EPCI.
    assert Commune.objects.filter(epci__isnull=True).count() < 10
    assert Commune.objects.search("ramonville")[0].code == "31446"
    assert Commune.objects.search("31520")[0].code == "31446"
    assert Commune.objects.search("st etienne")[0].code == "42218"


@pytest.mark.django_db
@pytest.mark.shared_data
@pytest.mark.skipif(not LAPOSTE_FILE.is_file(), reason="../shared/data/laposte_hexasmal.csv absent")
def test_real_laposte_file_gives_a_point_to_99_percent_of_communes(real_cog):
    call_command("territories_points", str(LAPOSTE_FILE), verbosity=0)
    total = Commune.objects.count()
    assert Commune.objects.with_point().count() / total >= 0.99
