import pytest
from django.urls import reverse

from essaim.exchange import services
from essaim.exchange.models import Listing
from essaim.territories.models import Perimeter, PerimeterCommune
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db


def titles(response):
    return [listing.title for listing in response.context["page"].object_list]


def test_list_shows_listed_listings_only(client, people):
    make_listing(structure=people["structure"], title="Publiée")
    make_listing(structure=people["structure"], title="Brouillon", publish=False)
    closed = make_listing(structure=people["structure"], title="Satisfaite")
    services.listing_fulfil(listing=closed, actor=None)

    response = client.get(reverse("exchange:list"))

    assert response.status_code == 200
    assert titles(response) == ["Publiée"]
    assert "Publiée" in response.content.decode()


def test_list_filters_by_direction_kind_theme_and_accentless_text(client, people, themes):
    make_listing(structure=people["structure"], title="Prêt d'une salle", direction="offer", kind="premises")
    make_listing(
        structure=people["structure"],
        title="Paniers bio",
        direction="need",
        kind="group_purchase",
        themes=[themes["alimentation"]],
    )

    assert titles(client.get(reverse("exchange:list"), {"sens": "need"})) == ["Paniers bio"]
    assert titles(client.get(reverse("exchange:list"), {"type": "premises"})) == ["Prêt d'une salle"]
    assert titles(client.get(reverse("exchange:list"), {"theme": "alimentation"})) == ["Paniers bio"]
    assert titles(client.get(reverse("exchange:list"), {"q": "PRET salle"})) == ["Prêt d'une salle"]


def test_list_defaults_to_the_home_perimeter(client, communes):
    home = Perimeter.objects.create(
        name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom", is_home=True
    )
    PerimeterCommune.objects.create(perimeter=home, commune=communes["Caussade"])
    make_listing(structure=StructureFactory(commune=communes["Caussade"]), title="Ici")
    make_listing(structure=StructureFactory(commune=communes["Nontron"]), title="Ailleurs")

    assert titles(client.get(reverse("exchange:list"))) == ["Ici"]
    assert sorted(titles(client.get(reverse("exchange:list"), {"territoire": "tous"}))) == ["Ailleurs", "Ici"]


def test_htmx_gets_the_results_partial(client, people):
    make_listing(structure=people["structure"], title="Publiée")

    response = client.get(reverse("exchange:list"), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html
    assert "Publiée" in html
    assert 'hx-swap-oob="innerHTML"' in html


def test_list_is_paginated(client, people):
    for n in range(21):
        make_listing(structure=people["structure"], title=f"Annonce {n}")

    first = client.get(reverse("exchange:list"))
    second = client.get(reverse("exchange:list"), {"page": 2})

    assert len(titles(first)) == 20
    assert len(titles(second)) == 1


def test_member_creates_edits_and_publishes(client, people, themes):
    client.force_login(people["member"])
    data = {
        "direction": "offer",
        "kind": "equipment",
        "title": "Minibus 9 places",
        "description": "Prêt le week-end.",
        "terms": "paid",
        "price": "35,50",
        "radius_km": 40,
        "themes": [themes["culture"].pk],
    }

    client.post(reverse("exchange:create", args=[people["structure"].slug]), data)
    listing = Listing.objects.get()
    assert listing.price_cents == 3550
    client.post(reverse("exchange:edit", args=[listing.pk]), {**data, "title": "Minibus 8 places"})
    client.post(reverse("exchange:status", args=[listing.pk]), {"action": "publish"})

    listing.refresh_from_db()
    assert listing.title == "Minibus 8 places"
    assert listing.status == "published"
    page = client.get(reverse("exchange:detail", args=[listing.pk])).content.decode()
    assert "35,50\xa0€" in page
    assert "Suggestions de mise en relation" in page


def test_form_errors_are_in_french_and_nothing_is_saved(client, people):
    client.force_login(people["member"])

    response = client.post(
        reverse("exchange:create", args=[people["structure"].slug]),
        {
            "direction": "offer",
            "kind": "equipment",
            "title": "Remorque",
            "terms": "free",
            "price": "10",
            "radius_km": 10,
            "available_from": "2027-03-02",
            "available_until": "2027-03-01",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Un prix n&#x27;est possible que pour une annonce payante." in html
    assert "précède la date de début" in html
    assert not Listing.objects.exists()


def test_public_page_hides_suggestions_and_management(client, people):
    listing = make_listing(structure=people["structure"], title="Remorque")

    html = client.get(reverse("exchange:detail", args=[listing.pk])).content.decode()

    assert "Remorque" in html
    assert "Suggestions de mise en relation" not in html
    assert "Modifier l&#x27;annonce" not in html


def test_structure_card_shows_its_published_listings(client, people):
    make_listing(structure=people["structure"], title="Remorque à prêter")
    make_listing(structure=people["structure"], title="Brouillon caché", publish=False)
    url = reverse("actors:detail", args=[people["structure"].slug])

    public = client.get(url).content.decode()
    client.force_login(people["member"])
    member = client.get(url).content.decode()

    assert "Remorque à prêter" in public
    assert "Brouillon caché" not in public
    assert "Publier une offre ou un besoin" not in public
    assert reverse("exchange:create", args=[people["structure"].slug]) in member
