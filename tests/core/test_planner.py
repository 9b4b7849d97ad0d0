"""The planner's estimate of a query's rows (PostgreSQL only)."""

import pytest
from django.db import connection

from essaim.actors.models import Structure
from essaim.core.planner import estimated_rows
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Estimation propre à PostgreSQL.")
def test_the_estimate_follows_the_table_statistics():
    StructureFactory.create_batch(30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE actors_structure")
    assert estimated_rows(Structure.objects.all()) == 30
    assert estimated_rows(Structure.objects.filter(pk=-1)) <= 1


@pytest.mark.skipif(connection.vendor == "postgresql", reason="Erreur propre aux autres moteurs.")
def test_other_databases_refuse():
    with pytest.raises(ValueError, match="PostgreSQL only"):
        estimated_rows(Structure.objects.all())
