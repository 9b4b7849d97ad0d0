import pytest
from django.urls import reverse

from essaim.exchange.models import Listing
from tests.exchange.conftest import make_listing

pytestmark = pytest.mark.django_db

WHO = ("anonymous", "outsider", "member", "facilitator")


def client_for(client, people, who):
    if who != "anonymous":
        client.force_login(people[who])
    return client


@pytest.mark.parametrize(
    ("who", "published", "expected"),
    [
        ("anonymous", True, 200),
        ("outsider", True, 200),
        ("member", True, 200),
        ("facilitator", True, 200),
        ("anonymous", False, 404),
        ("outsider", False, 404),
        ("member", False, 200),
        ("facilitator", False, 200),
    ],
)
def test_who_sees_a_listing(client, people, who, published, expected):
    listing = make_listing(structure=people["structure"], publish=published)

    response = client_for(client, people, who).get(reverse("exchange:detail", args=[listing.pk]))

    assert response.status_code == expected


@pytest.mark.parametrize(
    ("who", "allowed"), [("anonymous", False), ("outsider", False), ("member", True), ("facilitator", True)]
)
def test_who_edits_a_listing(client, people, who, allowed):
    listing = make_listing(structure=people["structure"])
    client = client_for(client, people, who)

    form = client.get(reverse("exchange:edit", args=[listing.pk]))
    action = client.post(reverse("exchange:status", args=[listing.pk]), {"action": "withdraw"})

    listing.refresh_from_db()
    if allowed:
        assert form.status_code == 200
        assert action.status_code == 302
        assert listing.status == "withdrawn"
    else:
        assert form.status_code in (302, 404)  # anonymous: login page; others: hidden
        assert action.status_code in (302, 404)
        assert action.status_code == 404 or "/compte/" in action["Location"]
        assert listing.status == "published"


@pytest.mark.parametrize(
    ("who", "allowed"), [("anonymous", False), ("outsider", False), ("member", True), ("facilitator", True)]
)
def test_who_creates_a_listing_for_a_structure(client, people, who, allowed):
    client = client_for(client, people, who)
    url = reverse("exchange:create", args=[people["structure"].slug])

    response = client.post(
        url,
        {
            "direction": "need",
            "kind": "premises",
            "title": "Salle de réunion",
            "terms": "free",
            "radius_km": 20,
        },
    )

    if allowed:
        listing = Listing.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("exchange:detail", args=[listing.pk])
        assert listing.structure == people["structure"] and listing.status == "draft"
    else:
        assert response.status_code in (302, 404)
        assert not Listing.objects.exists()
