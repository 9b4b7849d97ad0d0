"""Loose ends of the directory: export rate limit, read-only admin of dismissals, cached duplicate list."""

from unittest import mock

import pytest
from django.urls import reverse

from essaim.actors.duplicates import duplicate_dismiss
from essaim.actors.models import DuplicateDismissal
from essaim.actors.services import structure_update
from essaim.www.actors import duplicates as duplicate_views
from tests.factories import AdminFactory, FacilitatorFactory, StructureFactory

pytestmark = pytest.mark.django_db


def test_exports_are_rate_limited_per_address_with_a_french_429(client, settings):
    settings.ESSAIM_EXPORT_RATE = "3/h"
    StructureFactory(name="La Rafistolerie")
    csv_url = reverse("actors:export", args=["csv"])
    geojson_url = reverse("actors:export", args=["geojson"])
    for url in (csv_url, geojson_url, csv_url):
        response = client.get(url)
        assert response.status_code == 200
        b"".join(response.streaming_content)
    limited = client.get(geojson_url)
    assert limited.status_code == 429
    assert "Trop de demandes" in limited.content.decode()
    assert "Trop de téléchargements" in limited.content.decode()
    # Another address is not limited.
    other = client.get(csv_url, REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 200


def test_dismissals_are_listed_read_only_in_the_admin(client):
    a, b = StructureFactory(name="Fiche A"), StructureFactory(name="Fiche B")
    duplicate_dismiss(first=a, second=b, actor=FacilitatorFactory())
    client.force_login(AdminFactory())
    changelist = reverse("admin:actors_duplicatedismissal_changelist")
    response = client.get(changelist)
    assert response.status_code == 200 and "Fiche A" in response.content.decode()
    assert client.get(reverse("admin:actors_duplicatedismissal_add")).status_code == 403
    dismissal = DuplicateDismissal.objects.get()
    delete_url = reverse("admin:actors_duplicatedismissal_delete", args=[dismissal.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert DuplicateDismissal.objects.exists()


def test_duplicate_list_is_computed_once_per_state_of_the_data(client):
    facilitator = FacilitatorFactory()
    a = StructureFactory(name="Fiche A", email="meme@exemple.org")
    StructureFactory(name="Fiche B", email="meme@exemple.org")
    client.force_login(facilitator)
    url = reverse("actors:duplicates")
    spy = mock.Mock(wraps=duplicate_views.duplicate_candidates)
    with mock.patch.object(duplicate_views, "duplicate_candidates", spy):
        assert "Raisons : même courriel" in client.get(url).content.decode()
        assert "Raisons : même courriel" in client.get(url).content.decode()
        assert spy.call_count == 1
        # A write on a card changes the data: the list is computed again and shows the change.
        structure_update(structure=a, actor=facilitator, email="autre@exemple.org")
        assert "Raisons : même courriel" not in client.get(url).content.decode()
        assert spy.call_count == 2
        StructureFactory(name="Fiche C", email="autre@exemple.org")
        assert "Raisons : même courriel" in client.get(url).content.decode()
        assert spy.call_count == 3
