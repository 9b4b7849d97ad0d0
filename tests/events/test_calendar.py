"""The agenda's month calendar (``/agenda/calendrier/``): grid contents, days of multi-day events, filters
kept in the URL, previous/next months, the narrow-screen list of days, the view switch; the map and its
GeoJSON."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from essaim.actors.models import Theme
from essaim.events.models import EventStatus, Visibility
from essaim.territories.models import Perimeter, PerimeterCommune
from essaim.www.events.public import DAY_LIMIT
from tests.events.conftest import make_event
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

MONTH = "2031-03"


def local(day: int, hour: int, month: int = 3) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2031, month, day, hour))


def grid_cells(html: str) -> dict[str, str]:
    """Cell HTML of the month table by ISO date (only the table, not the narrow-screen list)."""
    table = html[html.index("<table") : html.index("</table>")]
    cells = {}
    for match in re.finditer(r'<td class="calendar__day[^"]*"[^>]*>(.*?)</td>', table, re.S):
        date = re.search(r'datetime="([\d-]+)"', match.group(1))
        if date:
            cells[date.group(1)] = match.group(1)
    return cells


def narrow_days(html: str) -> list[str]:
    block = html[html.index('class="calendar-days"') :]
    block = block[: block.index("</ol>")]
    return re.findall(r'<h3 class="calendar-days__date"><time datetime="([\d-]+)"', block)


def get(client, **params):
    params.setdefault("mois", MONTH)
    params.setdefault("territoire", "tous")
    response = client.get(reverse("events:calendar"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_month_grid_places_events_on_their_days_and_spans_multi_day_events(client):
    make_event(title="Forum des initiatives", start=local(10, 9), end=local(12, 18))
    make_event(title="Café ESS", start=local(20, 18), end=local(20, 20))
    make_event(title="Soirée qui finit à minuit", start=local(25, 20), end=local(26, 0))
    make_event(title="Le mois précédent", start=local(27, 9, month=2), end=local(27, 12, month=2))

    html = get(client)
    cells = grid_cells(html)

    assert len(cells) == 31  # March only: the days of February and April around it are empty cells
    assert "<caption>" in html and "mars 2031" in html
    assert html.count('<th scope="col">') == 7
    for day in ("2031-03-10", "2031-03-11", "2031-03-12"):
        assert "Forum des initiatives" in cells[day]
    assert "09h00" in cells["2031-03-10"]
    assert "(suite)" in cells["2031-03-11"] and "(suite)" in cells["2031-03-12"]
    assert "Forum des initiatives" not in cells["2031-03-13"]
    assert "Café ESS" in cells["2031-03-20"]
    # Ending at midnight is ending the day before.
    assert "Soirée qui finit à minuit" in cells["2031-03-25"]
    assert "Soirée qui finit à minuit" not in cells["2031-03-26"]
    assert "Le mois précédent" not in html
    assert "3 événements" in html
    # The narrow-screen list holds only the days that have events.
    assert narrow_days(html) == [
        "2031-03-10",
        "2031-03-11",
        "2031-03-12",
        "2031-03-20",
        "2031-03-25",
    ]


def test_an_event_starting_the_month_before_shows_from_the_first_day(client):
    make_event(title="Semaine ESS", start=local(27, 9, month=2), end=local(2, 17))
    cells = grid_cells(get(client))
    assert "Semaine ESS" in cells["2031-03-01"] and "(suite)" in cells["2031-03-01"]
    assert "Semaine ESS" in cells["2031-03-02"]
    assert "Semaine ESS" not in cells["2031-03-03"]


def test_a_busy_day_links_to_the_list_of_that_day_for_the_rest(client):
    for index in range(DAY_LIMIT + 2):
        make_event(title=f"Atelier numéro {index}", start=local(5, 8 + index), end=local(5, 9 + index))
    cell = grid_cells(get(client, theme=""))["2031-03-05"]
    assert len(re.findall(r'class="calendar__event[ "]', cell)) == DAY_LIMIT
    assert "+&nbsp;2 autres" in cell
    assert "du=2031-03-05" in cell and "au=2031-03-05" in cell and "territoire=tous" in cell


def test_only_listed_events_and_members_only_for_signed_in_accounts(client):
    make_event(title="Brouillon caché", status=EventStatus.DRAFT, start=local(3, 9), end=local(3, 10))
    make_event(
        title="Réservé aux membres", visibility=Visibility.MEMBERS, start=local(3, 9), end=local(3, 10)
    )
    cancelled = make_event(title="Rencontre annulée", start=local(4, 9), end=local(4, 10))
    cancelled.status = EventStatus.CANCELLED
    cancelled.save(update_fields=["status"])

    html = get(client)
    assert "Brouillon caché" not in html and "Réservé aux membres" not in html
    assert "(annulé)" in grid_cells(html)["2031-03-04"]

    client.force_login(UserFactory())
    assert "Réservé aux membres" in get(client)


def test_filters_apply_and_are_kept_in_month_links_and_view_switch(client, communes):
    theme = Theme.objects.create(slug="circuits-courts", label="Circuits courts")
    organiser = StructureFactory(name="Maison de l'Emploi")
    perimeter = Perimeter.objects.create(name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom")
    PerimeterCommune.objects.create(perimeter=perimeter, commune=communes["82037"])
    make_event(
        title="Financement participatif",
        commune=communes["82037"],
        organisers=[organiser],
        start=local(3, 9),
        end=local(3, 12),
    )
    make_event(
        title="Collectivités et ESS",
        commune=communes["82137"],
        themes=[theme],
        kind="conference",
        start=local(4, 9),
        end=local(4, 12),
    )
    make_event(title="Bouillon de territoire", commune=communes["24311"], start=local(5, 9), end=local(5, 12))
    make_event(
        title="Webinaire ESS",
        online_url="https://visio.exemple.fr/a",
        place_name="",
        start=local(6, 9),
        end=local(6, 12),
    )
    titles = ("Financement participatif", "Collectivités et ESS", "Bouillon de territoire", "Webinaire ESS")

    def shown(**params):
        html = get(client, **params)
        return sorted(title for title in titles if title in html)

    # Online events belong to every territory, as in the list.
    assert shown(territoire="pays-midi-quercy") == ["Financement participatif", "Webinaire ESS"]
    assert shown(theme="circuits-courts") == ["Collectivités et ESS"]
    assert shown(type="conference") == ["Collectivités et ESS"]
    assert shown(organisateur=organiser.slug) == ["Financement participatif"]
    assert shown(q="collectivites") == ["Collectivités et ESS"]
    assert len(shown()) == 4

    html = get(client, theme="circuits-courts")
    assert 'href="?territoire=tous&amp;theme=circuits-courts&amp;mois=2031-02" rel="prev"' in html
    assert 'href="?territoire=tous&amp;theme=circuits-courts&amp;mois=2031-04" rel="next"' in html
    switch = html[html.index('class="agenda-switch"') :]
    switch = switch[: switch.index("</nav>")]
    assert f'href="{reverse("events:list")}?territoire=tous&amp;theme=circuits-courts"' in switch
    assert f'href="{reverse("events:map")}?territoire=tous&amp;theme=circuits-courts"' in switch
    assert 'aria-current="page">Calendrier' in switch


def test_an_event_is_listed_once_whatever_its_links(client, communes):
    perimeter = Perimeter.objects.create(name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom")
    PerimeterCommune.objects.create(perimeter=perimeter, commune=communes["82037"])
    themes = [Theme.objects.create(slug=f"theme-{n}", label=f"Thème {n}") for n in range(2)]
    structure = StructureFactory(name="Pôle ESS")
    make_event(
        title="Rencontre bien entourée",
        commune=communes["82037"],
        themes=themes,
        organisers=[structure],
        co_organisers=[structure],
        start=local(3, 9),
        end=local(3, 12),
    )
    for params in ({}, {"territoire": perimeter.slug, "organisateur": structure.slug, "theme": "theme-1"}):
        html = get(client, **params)
        assert grid_cells(html)["2031-03-03"].count("Rencontre bien entourée") == 1
        assert "1 événement<" in html or "1 événement " in html


def test_home_perimeter_is_the_default_territory(client, communes):
    perimeter = Perimeter.objects.create(
        name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom", is_home=True
    )
    PerimeterCommune.objects.create(perimeter=perimeter, commune=communes["82037"])
    make_event(title="Chez nous", commune=communes["82037"], start=local(3, 9), end=local(3, 12))
    make_event(title="Ailleurs", commune=communes["24311"], start=local(3, 9), end=local(3, 12))
    html = client.get(reverse("events:calendar"), {"mois": MONTH}).content.decode()
    assert "Chez nous" in html and "Ailleurs" not in html
    # The per-territory feed is offered.
    assert reverse("events:perimeter_feed", args=["pays-midi-quercy"]) in html


def test_today_is_marked_and_current_month_is_the_default(client):
    today = timezone.localdate()
    html = client.get(reverse("events:calendar")).content.decode()
    cell = re.search(r'<td class="calendar__day[^"]*" aria-current="date">(.*?)</td>', html, re.S)
    assert cell and f'datetime="{today.isoformat()}"' in cell.group(1)
    assert html.count('aria-current="date"') == 1  # the narrow list has it only when today has events
    assert "Mois en cours" not in html  # already there


def test_month_navigation_crosses_years_and_a_bad_month_falls_back(client):
    html = get(client, mois="2031-12")
    assert "mois=2031-11" in html and "mois=2032-01" in html
    html = get(client, mois="2031-01")
    assert "mois=2030-12" in html
    bad = get(client, mois="n'importe-quoi")
    assert "Ce mois n'a pas été reconnu" in bad
    assert timezone.localdate().strftime("%Y-%m") in bad
    assert "Ce mois n'a pas été reconnu" in get(client, mois="2031-13")


def test_list_links_to_calendar_and_map_keeping_filters(client):
    html = client.get(reverse("events:list"), {"territoire": "tous", "type": "atelier"}).content.decode()
    assert f'href="{reverse("events:calendar")}?territoire=tous&amp;type=atelier"' in html
    assert f'href="{reverse("events:map")}?territoire=tous&amp;type=atelier"' in html
    assert 'aria-current="page">Liste' in html


# --- Map --------------------------------------------------------------------------------------------------


def geojson(client, **params):
    params.setdefault("territoire", "tous")
    response = client.get(reverse("events:map_geojson"), params)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    return response.json()


def test_geojson_is_a_valid_feature_collection_of_upcoming_events_with_a_point(client, communes):
    own_point = make_event(title="Visite apprenante", latitude=44.5, longitude=1.25, days=5)
    at_commune = make_event(title="Bouillon de territoire", commune=communes["24311"], days=6)
    make_event(title="Webinaire sans lieu", online_url="https://visio.exemple.fr/a", place_name="", days=7)
    make_event(title="Déjà passé", commune=communes["24311"], days=-3)

    data = geojson(client)

    assert data["type"] == "FeatureCollection"
    assert data["truncated"] is False
    assert [f["properties"]["title"] for f in data["features"]] == [own_point.title, at_commune.title]
    for feature in data["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
        longitude, latitude = feature["geometry"]["coordinates"]  # RFC 7946: longitude first
        assert -180 <= longitude <= 180 and -90 <= latitude <= 90
        assert feature["properties"]["url"].startswith("/agenda/")
    assert data["features"][0]["geometry"]["coordinates"] == [1.25, 44.5]
    assert data["features"][1]["geometry"]["coordinates"] == [0.66, 45.53]
    assert data["features"][1]["properties"]["place"] == "Nontron"


def test_geojson_and_map_page_apply_the_same_filters(client, communes):
    perimeter = Perimeter.objects.create(name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom")
    PerimeterCommune.objects.create(perimeter=perimeter, commune=communes["82037"])
    theme = Theme.objects.create(slug="circuits-courts", label="Circuits courts")
    make_event(title="Financement participatif", commune=communes["82037"], themes=[theme], days=5)
    make_event(title="Bouillon de territoire", commune=communes["24311"], days=40)

    def titles(**params):
        return [f["properties"]["title"] for f in geojson(client, **params)["features"]]

    assert titles(territoire="pays-midi-quercy") == ["Financement participatif"]
    assert titles(theme="circuits-courts") == ["Financement participatif"]
    assert titles(q="bouillon") == ["Bouillon de territoire"]
    assert titles(du=(timezone.localdate() + datetime.timedelta(days=30)).isoformat()) == [
        "Bouillon de territoire"
    ]

    page = client.get(reverse("events:map"), {"territoire": "pays-midi-quercy"}).content.decode()
    assert "Financement participatif" in page and "Bouillon de territoire" not in page
    assert "1 événement sur la carte" in page
    # The script fetches the GeoJSON of the same filters; no inline script runs.
    assert f"{reverse('events:map_geojson')}?territoire=pays-midi-quercy" in page
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all(" src=" in tag or 'type="application/json"' in tag for tag in scripts)


def test_geojson_is_capped_and_says_so(client, communes, monkeypatch):
    monkeypatch.setattr("essaim.www.events.public.MAP_LIMIT", 2)
    for index in range(3):
        make_event(title=f"Rencontre {index}", commune=communes["82037"], days=5 + index)
    data = geojson(client)
    assert len(data["features"]) == 2 and data["truncated"] is True
    page = client.get(reverse("events:map"), {"territoire": "tous"}).content.decode()
    assert "Les 2 prochains événements localisés sont affichés" in page


def test_site_map_lists_the_agendas_calendar_and_map(client):
    html = client.get(reverse("www:sitemap")).content.decode()
    for url_name in ("events:list", "events:calendar", "events:map"):
        assert f'href="{reverse(url_name)}"' in html
    assert reverse("events:my_data") not in html  # only for signed-in people
    client.force_login(UserFactory())
    assert f'href="{reverse("events:my_data")}"' in client.get(reverse("www:sitemap")).content.decode()
