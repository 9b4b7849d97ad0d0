"""schema.org JSON-LD (Organization) on the public structure page."""

import datetime
import json
import re

import pytest
from django.urls import reverse

from essaim.actors.models import Status
from essaim.territories.models import Commune, PostalCode
from tests.demo.cog_sample import load_cog_sample
from tests.factories import FacilitatorFactory, StructureFactory
from tests.www.html import tags

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r'<script type="application/ld\+json" nonce="([^"]*)">(.*?)</script>', re.S)


def _jsonld(response) -> list[dict]:
    return [json.loads(content) for _nonce, content in SCRIPT.findall(response.content.decode())]


def test_published_card_describes_an_organization(client):
    load_cog_sample()
    commune = Commune.objects.get(code="31113")
    PostalCode.objects.get_or_create(code="31320", commune=commune)
    structure = StructureFactory(
        name="La Rafistolerie",
        acronym="RAF",
        description="Atelier de réparation </script><script>alert(1)</script> & réemploi.",
        address="1 rue des Ateliers",
        commune=commune,
        latitude=43.51,
        longitude=1.49,
        phone="05 61 00 00 00",
        email="contact@rafistolerie.org",
        website="https://rafistolerie.org",
        creation_date=datetime.date(2015, 3, 2),
        siren="",
    )
    response = client.get(reverse("actors:detail", args=[structure.slug]))
    [data] = _jsonld(response)
    card_url = f"http://testserver/annuaire/{structure.slug}/"
    assert data["@context"] == "https://schema.org" and data["@type"] == "Organization"
    assert data["name"] == "La Rafistolerie" and data["alternateName"] == "RAF"
    assert data["url"] == card_url
    assert data["description"].startswith("Atelier de réparation </script>")
    assert data["address"] == {
        "@type": "PostalAddress",
        "addressCountry": "FR",
        "streetAddress": "1 rue des Ateliers",
        "addressLocality": "Castanet-Tolosan",
        "postalCode": "31320",
    }
    assert data["geo"] == {"@type": "GeoCoordinates", "latitude": 43.51, "longitude": 1.49}
    assert data["telephone"] == "05 61 00 00 00" and data["email"] == "contact@rafistolerie.org"
    assert data["sameAs"] == ["https://rafistolerie.org"]
    assert data["foundingDate"] == "2015-03-02"
    # The description cannot close the script element early: only one script of this type, escaped.
    html = response.content.decode()
    assert "\\u003C/script\\u003E" in html and "<script>alert(1)" not in html
    # The script carries the page's CSP nonce.
    [(nonce, _content)] = SCRIPT.findall(html)
    assert nonce and f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_empty_fields_are_left_out(client):
    structure = StructureFactory(name="Fiche minimale")
    [data] = _jsonld(client.get(reverse("actors:detail", args=[structure.slug])))
    assert set(data) == {"@context", "@type", "@id", "name", "url"}


def test_unpublished_cards_have_no_jsonld(client):
    structure = StructureFactory(status=Status.DRAFT)
    client.force_login(FacilitatorFactory())
    response = client.get(reverse("actors:detail", args=[structure.slug]))
    assert response.status_code == 200
    assert _jsonld(response) == []
    assert not [script for script in tags(response.content.decode(), "script") if script.get("type")]
