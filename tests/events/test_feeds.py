"""Feeds of the agenda: the per-territory iCalendar feed (parsed back with icalendar), RSS 2.0 of upcoming
events (all and per programme), <link rel="alternate"> and the "S'abonner" block."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from icalendar import Calendar

from essaim.events import services
from essaim.events.models import EventStatus, Visibility
from essaim.territories.models import Perimeter, PerimeterCommune
from tests.events.conftest import make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def perimeter(communes):
    perimeter = Perimeter.objects.create(name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom")
    for code in ("82037", "82137"):
        PerimeterCommune.objects.create(perimeter=perimeter, commune=communes[code])
    return perimeter


def test_perimeter_feed_is_valid_icalendar_with_the_territory_events(client, communes, perimeter):
    caussade = make_event(title="Financement participatif", commune=communes["82037"], days=5)
    negrepelisse = make_event(title="Collectivités et ESS", commune=communes["82137"], days=6)
    online = make_event(title="Webinaire ESS", online_url="https://visio.exemple.fr/a", place_name="", days=7)
    make_event(title="Bouillon de territoire", commune=communes["24311"], days=8)
    make_event(title="Réservé aux membres", commune=communes["82037"], visibility=Visibility.MEMBERS, days=9)
    make_event(title="Brouillon", commune=communes["82037"], status=EventStatus.DRAFT, days=9)

    response = client.get(reverse("events:perimeter_feed", args=[perimeter.slug]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["x-wr-calname"]) == "Agenda — Pays Midi-Quercy"
    events = calendar.walk("VEVENT")
    assert [str(e["summary"]) for e in events] == [caussade.title, negrepelisse.title, online.title]
    first = events[0]
    assert str(first["url"]) == f"http://testserver{reverse('events:detail', args=[caussade.slug])}"
    assert "Caussade" in str(first["location"])
    assert first.decoded("dtstart") == caussade.start
    assert len({str(e["uid"]) for e in events}) == 3


def test_unknown_perimeter_feed_is_404(client, db):
    assert client.get(reverse("events:perimeter_feed", args=["nulle-part"])).status_code == 404


def rss_items(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)  # noqa: S314 (our own response, not untrusted input)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    return channel, channel.findall("item")


def test_rss_lists_upcoming_public_events_soonest_first(client, communes):
    later = make_event(title="Bouillon de territoire", commune=communes["24311"], days=20)
    sooner = make_event(
        title="Café ESS", commune=communes["82037"], days=3, description="Un café pour parler ESS."
    )
    cancelled = make_event(title="Forum annulé", days=4)
    services.event_cancel(event=cancelled, actor=None)
    make_event(title="Déjà passé", days=-2)
    make_event(title="Réservé aux membres", visibility=Visibility.MEMBERS)
    make_event(title="Brouillon", status=EventStatus.DRAFT)

    channel, items = rss_items(client, reverse("events:rss"))

    assert channel.findtext("language") == "fr"
    assert channel.findtext("link") == "http://testserver/agenda/"
    titles = [item.findtext("title") for item in items]
    assert len(titles) == 3
    assert titles[0].startswith("Café ESS (") and titles[1].startswith("Annulé — Forum annulé")
    assert titles[2].startswith("Bouillon de territoire")
    assert items[0].findtext("link") == f"http://testserver{reverse('events:detail', args=[sooner.slug])}"
    assert "Un café pour parler ESS." in items[0].findtext("description")
    assert "Caussade" in items[0].findtext("description")
    assert items[0].findtext("category") == "Rencontre"
    assert later.slug in items[2].findtext("link")


def test_programme_rss_holds_the_programme_events_only(client):
    programme = services.programme_save(title="Mois de l'ESS 2031", actor=None)
    inside = make_event(title="Ouverture du Mois", programme=programme, days=5)
    make_event(title="Hors programme", days=6)

    channel, items = rss_items(client, reverse("events:programme_rss", args=[programme.slug]))

    assert channel.findtext("title").startswith("Mois de l'ESS 2031")
    assert [item.findtext("title").split(" (")[0] for item in items] == [inside.title]
    assert client.get(reverse("events:programme_rss", args=["inconnu"])).status_code == 404


def alternate_links(html: str) -> dict[str, str]:
    head = html[: html.index("</head>")]
    return {
        match.group("href"): match.group("type")
        for match in re.finditer(
            r'<link rel="alternate" type="(?P<type>[^"]+)"[^>]*href="(?P<href>[^"]+)"', head
        )
    }


def test_pages_announce_their_feeds_and_offer_copyable_addresses(client, perimeter):
    html = client.get(reverse("events:list"), {"territoire": perimeter.slug}).content.decode()

    links = alternate_links(html)
    perimeter_feed = f"http://testserver{reverse('events:perimeter_feed', args=[perimeter.slug])}"
    assert links == {
        perimeter_feed: "text/calendar",
        f"http://testserver{reverse('events:perimeter_rss', args=[perimeter.slug])}": "application/rss+xml",
        f"http://testserver{reverse('events:feed')}": "text/calendar",
        f"http://testserver{reverse('events:rss')}": "application/rss+xml",
    }
    block = html[html.index('aria-labelledby="abonnement-titre"') :]
    assert "S'abonner" in block
    assert f'value="{perimeter_feed}" readonly' in block
    assert 'data-copy="flux-1"' in block
    # Labels name each field (the copy buttons are revealed by agenda.js).
    assert '<label for="flux-1">Territoire : Pays Midi-Quercy' in block

    # Every territory: no per-territory feed.
    html = client.get(reverse("events:list"), {"territoire": "tous"}).content.decode()
    assert perimeter_feed not in html

    # HTMX updates of the results refresh the block with the filters.
    fragment = client.get(
        reverse("events:list"), {"territoire": perimeter.slug}, headers={"HX-Request": "true"}
    ).content.decode()
    assert perimeter_feed in fragment


def test_programme_page_offers_its_ics_and_rss_feeds(client):
    programme = services.programme_save(title="Mois de l'ESS 2031", actor=None)
    html = client.get(reverse("events:programme", args=[programme.slug])).content.decode()
    links = alternate_links(html)
    assert links[f"http://testserver{reverse('events:programme_rss', args=[programme.slug])}"] == (
        "application/rss+xml"
    )
    assert (
        links[f"http://testserver{reverse('events:programme_feed', args=[programme.slug])}"]
        == "text/calendar"
    )


def test_rss_description_escapes_the_organisers_text(client):
    """Feed readers render a description as HTML: markup typed in an event's description stays text."""
    make_event(title="Café ESS", description="<script>alert(1)</script> & <b>gras</b>\nLigne 2")

    _, items = rss_items(client, reverse("events:rss"))

    description = items[0].findtext("description")  # the HTML a feed reader gets, once unescaped from XML
    assert "<script>" not in description and "<b>" not in description
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;gras&lt;/b&gt;" in description
    assert "<br>Salle des fêtes<br>" in description  # the lines stay lines


def test_rss_per_territory_and_feeds_with_the_lists_filters(client, communes, perimeter):
    make_event(title="Café à Caussade", commune=communes["82037"], days=3)
    make_event(title="Webinaire", online_url="https://visio.exemple.fr/ess", days=4)
    make_event(title="Bouillon à Nontron", commune=communes["24311"], days=5, kind="atelier")
    make_event(title="Réservé aux membres", commune=communes["82037"], visibility=Visibility.MEMBERS)

    channel, items = rss_items(client, reverse("events:perimeter_rss", args=[perimeter.slug]))
    titles = [item.findtext("title") for item in items]
    assert [t.split(" (")[0] for t in titles] == ["Café à Caussade", "Webinaire"]
    assert "Pays Midi-Quercy" in channel.findtext("title")
    assert client.get(reverse("events:perimeter_rss", args=["inconnu"])).status_code == 404

    # The plain feeds hold every territory; the list's filters narrow them.
    _, items = rss_items(client, reverse("events:rss"))
    assert len(items) == 3
    channel, items = rss_items(client, reverse("events:rss") + "?type=atelier")
    assert [item.findtext("title").split(" (")[0] for item in items] == ["Bouillon à Nontron"]
    assert channel.findtext("link") == "http://testserver/agenda/?type=atelier&territoire=tous"
    _, items = rss_items(client, reverse("events:rss") + f"?territoire={perimeter.slug}")
    assert len(items) == 2

    def ics_summaries(query):
        calendar = Calendar.from_ical(client.get(reverse("events:feed") + query).content)
        return sorted(str(component["summary"]) for component in calendar.walk("VEVENT"))

    assert ics_summaries("") == ["Bouillon à Nontron", "Café à Caussade", "Webinaire"]
    assert ics_summaries(f"?territoire={perimeter.slug}") == ["Café à Caussade", "Webinaire"]
    assert ics_summaries("?q=bouillon") == ["Bouillon à Nontron"]
