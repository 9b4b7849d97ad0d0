"""The facilitators' hub of the Annuaire (/annuaire/gestion/) and its link in the account menu."""

import pytest
from django.urls import reverse
from django.utils import timezone

from essaim.actors import claims
from essaim.actors.models import PendingChange, Status
from tests.factories import AdminFactory, FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/annuaire/gestion/"


def test_url_name():
    assert reverse("actors:manage") == URL


@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 404), ("member", 404), ("facilitator", 200), ("admin", 200)],
)
def test_permission_matrix(client, persona, status):
    if persona != "anonymous":
        factory = {"member": UserFactory, "facilitator": FacilitatorFactory, "admin": AdminFactory}[persona]
        client.force_login(factory())
    response = client.get(URL)
    assert response.status_code == status
    home = client.get("/")
    # The account menu links to the hub exactly when the page is allowed.
    assert (f'href="{URL}"' in home.content.decode()) is (status == 200)


def test_counts_what_waits(client):
    facilitator = FacilitatorFactory()
    structure = StructureFactory(status=Status.PUBLISHED, website="https://recyclerie.example.org")
    StructureFactory(status=Status.PENDING)
    StructureFactory(status=Status.PENDING)
    # A claim from a webmail address waits for a facilitator.
    claims.claim_submit(user=UserFactory(email="someone@gmail.com"), structure=structure)
    PendingChange.objects.create(
        structure=structure,
        field="phone",
        old_value="",
        new_value="05 00 00 00 00",
        source="csv",
        created_at=timezone.now(),
    )
    client.force_login(facilitator)
    response = client.get(URL)
    assert response.context["claims"] == 1
    assert response.context["pending_cards"] == 2
    assert response.context["pending_changes"] == 1
    assert response.context["to_moderate"] == 4
    assert "4 éléments en attente" in response.content.decode()
