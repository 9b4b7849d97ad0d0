"""The map page and its GeoJSON endpoint."""

import gzip
import json
import re

import pytest
from django.urls import reverse

from essaim.actors.geo import MAX_FEATURES
from tests.factories import StructureFactory
from tests.map.test_geo import spread_structures
from tests.www.html import tags

pytestmark = pytest.mark.django_db

FRANCE_BBOX = "-5.2,41.3,9.6,51.1"


def map_config(html: str) -> dict:
    return json.loads(
        re.search(r'<script id="map-config" type="application/json">(.*?)</script>', html).group(1)
    )


def get_geojson(client, **params):
    response = client.get(reverse("map:clusters"), params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/geo+json"
    return json.loads(response.content)


def test_clusters_endpoint_returns_rfc7946_geojson(client, communes):
    spread_structures(500)
    point = StructureFactory(name="Tout seul", latitude=48.0, longitude=-30.0)

    data = get_geojson(client, bbox="-180,-90,180,90", zoom="3")

    assert data["type"] == "FeatureCollection"
    assert 0 < len(data["features"]) <= MAX_FEATURES
    assert sum(feature["properties"]["count"] for feature in data["features"]) == 501
    # The area the counts cover: the whole cells the bbox touches, here the world.
    assert data["bbox"] == [-180, -90, 180, 90]
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        longitude, latitude = feature["geometry"]["coordinates"]
        assert -180 <= longitude <= 180 and -90 <= latitude <= 90
        if feature["properties"]["count"] > 1:
            west, south, east, north = feature["bbox"]
            assert west <= longitude <= east and south <= latitude <= north
    [single] = [feature for feature in data["features"] if feature["properties"]["count"] == 1]
    assert single["id"] == point.pk
    assert single["geometry"]["coordinates"] == [-30.0, 48.0]
    assert single["properties"] == {"count": 1, "name": "Tout seul", "slug": point.slug, "commune": ""}


def test_clusters_endpoint_applies_the_filters(client, communes, tarn):
    StructureFactory(name="Recyclerie de Castres", commune=communes["castres"])
    StructureFactory(name="Recyclerie d'Albi", commune=communes["albi"])
    StructureFactory(name="Café d'Albi", commune=communes["albi"])

    def names(**params):
        data = get_geojson(client, bbox=FRANCE_BBOX, zoom="8", **params)
        return sorted(feature["properties"]["name"] for feature in data["features"])

    assert names(q="recyclerie", territoire="tous") == ["Recyclerie d'Albi", "Recyclerie de Castres"]
    assert names(territoire="tarn-sud") == ["Recyclerie de Castres"]


def test_clusters_endpoint_defaults_to_the_home_perimeter_like_the_directory(client, communes, tarn):
    tarn.is_home = True
    tarn.save(update_fields=["is_home"])
    StructureFactory(name="Recyclerie de Castres", commune=communes["castres"])
    StructureFactory(name="Café d'Albi", commune=communes["albi"])

    data = get_geojson(client, bbox=FRANCE_BBOX, zoom="8")

    assert [feature["properties"]["name"] for feature in data["features"]] == ["Recyclerie de Castres"]


def test_clusters_endpoint_is_gzipped_for_clients_that_accept_it(client, communes):
    spread_structures(2000)

    response = client.get(
        reverse("map:clusters"), {"bbox": FRANCE_BBOX, "zoom": "6"}, HTTP_ACCEPT_ENCODING="gzip"
    )

    assert response["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.content))["type"] == "FeatureCollection"


@pytest.mark.parametrize(
    "params,message",
    [
        ({"zoom": "5"}, "bbox invalide"),
        ({"bbox": "1,2,3", "zoom": "5"}, "bbox invalide"),
        ({"bbox": "a,b,c,d", "zoom": "5"}, "bbox invalide"),
        ({"bbox": "5,40,1,50", "zoom": "5"}, "bbox hors limites"),
        ({"bbox": "-190,40,1,50", "zoom": "5"}, "bbox hors limites"),
        ({"bbox": "1,40,5,95", "zoom": "5"}, "bbox hors limites"),
        ({"bbox": "nan,40,5,50", "zoom": "5"}, "bbox hors limites"),
        ({"bbox": FRANCE_BBOX}, "zoom invalide"),
        ({"bbox": FRANCE_BBOX, "zoom": "5.5"}, "zoom invalide"),
        ({"bbox": FRANCE_BBOX, "zoom": "21"}, "zoom hors limites"),
        ({"bbox": FRANCE_BBOX, "zoom": "-1"}, "zoom hors limites"),
    ],
)
def test_bad_parameters_get_a_french_json_error(client, params, message):
    response = client.get(reverse("map:clusters"), params)

    assert response.status_code == 400
    assert message in response.json()["erreur"]


def test_map_page_lists_the_first_structures_for_readers_without_javascript(client, communes):
    StructureFactory(name="La Rafistolerie", commune=communes["castres"])
    StructureFactory(name="Brouillon caché", commune=communes["castres"], status="draft")
    StructureFactory(name="Sans lieu", commune=communes["nowhere"])

    response = client.get(reverse("map:map"), {"q": "rafis"})

    assert response.status_code == 200
    html = response.content.decode()
    assert len(tags(html, "h1")) == 1 and "<h1>Carte des structures</h1>" in html
    assert "La Rafistolerie" in html
    assert "Brouillon caché" not in html and "Sans lieu" not in html
    links = {link["href"].replace("&amp;", "&") for link in tags(html, "a")}
    assert reverse("actors:list") + "?q=rafis" in links
    # The map itself waits for JavaScript; the page says how to get tiles and where to fetch clusters.
    config = map_config(html)
    assert config["clustersUrl"] == reverse("map:clusters")
    assert config["viewport"] is None


def test_map_page_keeps_a_valid_viewport_and_starts_on_the_home_perimeter(client, communes, tarn):
    tarn.is_home = True
    tarn.save(update_fields=["is_home"])

    html = client.get(reverse("map:map"), {"lat": "43.6", "lon": "2.2", "z": "11"}).content.decode()
    config = map_config(html)
    assert config["viewport"] == {"lat": 43.6, "lon": 2.2, "z": 11}
    assert config["extent"] == [2.2410, 43.6060, 2.2410, 43.6060]

    html = client.get(reverse("map:map"), {"lat": "nope", "z": "99"}).content.decode()
    config = map_config(html)
    assert config["viewport"] is None


def test_a_viewport_too_wide_for_the_text_filter_gets_a_french_message(client, communes, monkeypatch):
    from essaim.actors import geo

    spread_structures(30)
    monkeypatch.setattr(geo, "LIVE_SCAN_MAX", 10)

    data = get_geojson(client, bbox=FRANCE_BBOX, zoom="5", q="structure", territoire="tous")

    assert data["features"] == []
    assert data["message"].startswith("Trop de structures dans cette partie de la carte")
