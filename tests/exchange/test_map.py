"""Map layer of offers and needs: the GeoJSON endpoint and the map page."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from essaim.exchange import moderation, services
from essaim.exchange.models import Listing
from essaim.www.exchange import map as listing_map
from tests.exchange.conftest import make_listing
from tests.factories import FacilitatorFactory, StructureFactory

pytestmark = pytest.mark.django_db


def geojson(client, **params):
    response = client.get(reverse("exchange:geojson"), {"territoire": "tous", **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    return json.loads(response.content)


def titles(collection):
    return sorted(feature["properties"]["title"] for feature in collection["features"])


def test_geojson_is_a_valid_feature_collection_in_lon_lat_order(client, communes):
    structure = StructureFactory(name="Atelier vélo", commune=communes["Caussade"])
    listing = make_listing(structure=structure, title="Vélos à prêter")

    collection = geojson(client)

    assert collection["type"] == "FeatureCollection"
    assert collection["truncated"] is False
    (feature,) = collection["features"]
    assert feature["type"] == "Feature" and feature["id"] == listing.pk
    # RFC 7946: [longitude, latitude]; Caussade is at 44.161 N, 1.537 E.
    assert feature["geometry"] == {"type": "Point", "coordinates": [1.537, 44.161]}
    assert feature["properties"]["url"] == reverse("exchange:detail", args=[listing.pk])
    assert feature["properties"]["structure"] == "Atelier vélo"
    assert feature["properties"]["commune"] == "Caussade"


def test_structure_point_wins_over_its_commune(client, communes):
    structure = StructureFactory(commune=communes["Caussade"], latitude=44.2, longitude=1.6)
    make_listing(structure=structure)
    (feature,) = geojson(client)["features"]
    assert feature["geometry"]["coordinates"] == [1.6, 44.2]


def test_hidden_expired_closed_and_pointless_listings_are_left_out(client, communes):
    structure = StructureFactory(commune=communes["Caussade"])
    make_listing(structure=structure, title="Visible")
    hidden = make_listing(structure=structure, title="Masquée")
    moderation.listing_hide(listing=hidden, actor=FacilitatorFactory(), reason="Spam")
    expired = make_listing(structure=structure, title="Expirée")
    Listing.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))
    withdrawn = make_listing(structure=structure, title="Retirée")
    services.listing_withdraw(listing=withdrawn, actor=None)
    make_listing(structure=structure, title="Brouillon", publish=False)
    make_listing(structure=StructureFactory(), title="Sans lieu")

    assert titles(geojson(client)) == ["Visible"]


def test_geojson_follows_the_list_filters(client, communes, themes):
    structure = StructureFactory(commune=communes["Caussade"])
    make_listing(structure=structure, title="Salle de réunion", direction="offer", kind="premises")
    make_listing(
        structure=structure,
        title="Paniers bio",
        direction="need",
        kind="product",
        themes=[themes["alimentation"]],
    )

    assert titles(geojson(client, sens="need")) == ["Paniers bio"]
    assert titles(geojson(client, type="premises")) == ["Salle de réunion"]
    assert titles(geojson(client, theme="alimentation")) == ["Paniers bio"]
    assert titles(geojson(client, q="reunion")) == ["Salle de réunion"]


def test_geojson_is_capped(client, communes, monkeypatch):
    monkeypatch.setattr(listing_map, "MAX_FEATURES", 2)
    structure = StructureFactory(commune=communes["Caussade"])
    for n in range(3):
        make_listing(structure=structure, title=f"Annonce {n}")
    collection = geojson(client)
    assert len(collection["features"]) == 2 and collection["truncated"] is True


def test_map_page_lists_what_the_map_shows_and_has_no_inline_script(client, communes):
    structure = StructureFactory(commune=communes["Caussade"])
    listing = make_listing(structure=structure, title="Camion frigorifique")
    hidden = make_listing(structure=structure, title="Annonce masquée")
    moderation.listing_hide(listing=hidden, actor=FacilitatorFactory(), reason="Spam")

    response = client.get(reverse("exchange:map"), {"territoire": "tous", "sens": "offer"})

    assert response.status_code == 200
    assert [item.pk for item in response.context["listings"]] == [listing.pk]
    html = response.content.decode()
    assert reverse("exchange:detail", args=[listing.pk]) in html and "Annonce masquée" not in html
    config = response.context["map_config"]
    assert config["geojsonUrl"].startswith(reverse("exchange:geojson") + "?")
    assert "sens=offer" in config["geojsonUrl"]
    assert "essaim/js/listing-map.js" in html
    # Only the JSON configuration block and external scripts: no inline code (strict CSP).
    assert "<script>" not in html and "onclick" not in html


def test_list_links_to_the_map_with_its_filters(client, people):
    response = client.get(reverse("exchange:list"), {"type": "premises", "territoire": "tous"})
    assert reverse("exchange:map") + "?type=premises" in response.content.decode()
