"""What the agenda's speed work must not change: feeds byte for byte as icalendar writes them, conditional
GET, queries that do not grow with the data, no overbooking through the registration form under
concurrent requests."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar
from icalendar import Event as VEvent

from essaim.events import ics, services
from essaim.events.models import Event, EventStatus, Registration, RegistrationStatus, StructureRole
from tests.events.conftest import make_event
from tests.events.test_concurrency import _run_in_threads, real_connections  # noqa: F401 - fixture
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db

BASE_URL = "https://agenda.example.org"


def reference_calendar(events, *, name: str, dtstamp=None) -> bytes:
    """The document written with icalendar's plain API only (the feed's code before it was made fast)."""
    calendar = Calendar()
    calendar.add("prodid", ics.PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if dtstamp:
        calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("name", name)
    for event in events:
        url = f"{BASE_URL}{reverse('events:detail', args=[event.slug])}"
        component = VEvent()
        component.add("uid", ics.event_uid(event))
        component.add("dtstamp", dtstamp or event.updated_at)
        component.add("dtstart", event.start)
        component.add("dtend", event.end)
        component.add("summary", event.title)
        description = event.description.strip()
        component.add("description", f"{description}\n\n{url}" if description else url)
        component.add("url", url)
        location = ", ".join(
            p for p in (event.place_name, event.address, event.commune.name if event.commune_id else "") if p
        )
        if location or event.online_url:
            component.add("location", location or event.online_url)
        if event.point is not None:
            component.add("geo", event.point)
        component.add("last-modified", event.updated_at)
        component.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED")
        calendar.add_component(component)
    return calendar.to_ical()


@pytest.fixture
def varied_events(communes):
    """Events exercising escaping, folding of multi-byte text, a point, an online event, a cancellation."""
    make_event(
        title="Bouillon de territoire ; « circuits courts », épisode 2",
        description="Une longue présentation accentuée — élus, coopératives, associations ; "
        "entreprises\net collectivités, réunies à Nègrepelisse pour parler d'économie sociale " * 3,
        commune=communes["82137"],
        address="2 place de la Mairie",
    )
    make_event(title="Webinaire", place_name="", online_url="https://visio.example.org/salle", days=12)
    cancelled = make_event(title="Annulé", latitude=44.1, longitude=1.5, days=14)
    services.event_cancel(event=cancelled, actor=None)
    return list(Event.objects.select_related("commune").order_by("start", "pk"))


def test_feed_is_byte_for_byte_what_icalendar_writes(varied_events):
    assert ics.calendar_bytes(varied_events, base_url=BASE_URL, name="Agenda") == reference_calendar(
        varied_events, name="Agenda"
    )


def test_method_documents_are_stamped_now_and_feeds_with_the_last_change(varied_events):
    feed = Calendar.from_ical(ics.calendar_bytes(varied_events, base_url=BASE_URL, name="Agenda"))
    for vevent, event in zip(feed.walk("VEVENT"), varied_events, strict=True):
        assert vevent.decoded("dtstamp") == event.updated_at.replace(microsecond=0)
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    message = Calendar.from_ical(
        ics.calendar_bytes(varied_events[:1], base_url=BASE_URL, name="X", method="PUBLISH")
    )
    assert message.walk("VEVENT")[0].decoded("dtstamp") >= before
    assert str(message["method"]) == "PUBLISH"


def test_the_garbage_collector_is_paused_only_while_a_document_is_built(varied_events, monkeypatch):
    import gc

    seen = []
    build = ics.vevent

    def vevent(*args, **kwargs):
        seen.append(gc.isenabled())
        return build(*args, **kwargs)

    monkeypatch.setattr(ics, "vevent", vevent)
    ics.calendar_bytes(varied_events, base_url=BASE_URL, name="Agenda")
    assert seen == [False] * len(varied_events) and gc.isenabled()
    gc.disable()
    try:
        ics.calendar_bytes(varied_events, base_url=BASE_URL, name="Agenda")
        assert not gc.isenabled()  # paused by someone else: left paused
    finally:
        gc.enable()


def test_unchanged_feed_is_answered_304_and_any_change_gives_a_new_etag(client):
    event = make_event(title="Rencontre")
    url = reverse("events:feed")
    first = client.get(url)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"')
    assert client.get(url)["ETag"] == etag  # the same document, the same validator

    not_modified = client.get(url, headers={"if-none-match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b"" and not_modified["ETag"] == etag

    services.event_update(event=event, actor=None, title="Rencontre déplacée")
    changed = client.get(url, headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert "Rencontre déplacée" in changed.content.decode()
    assert changed["ETag"] != etag

    make_event(title="Nouvelle", days=20)
    assert client.get(url, headers={"if-none-match": changed["ETag"]}).status_code == 200


def test_etag_depends_on_the_site_address_and_the_calendar(client):
    event = make_event(title="Rencontre")
    programme = services.programme_save(title="Mois de l'ESS", actor=None)
    services.event_update(event=event, actor=None, programme=programme)
    whole = client.get(reverse("events:feed"))["ETag"]
    other_host = client.get(reverse("events:feed"), HTTP_HOST="localhost")["ETag"]
    programme_feed = client.get(reverse("events:programme_feed", args=[programme.slug]))["ETag"]
    assert len({whole, other_host, programme_feed}) == 3


def _query_count(callable_) -> int:
    with CaptureQueriesContext(connection) as queries:
        callable_()
    return len(queries)


def test_feed_and_agenda_queries_do_not_grow_with_the_events(client, communes):
    def add(count, offset):
        for n in range(count):
            make_event(title=f"Événement {offset + n}", commune=communes["82037"], days=10 + offset + n)

    add(2, 0)
    feed_small = _query_count(lambda: client.get(reverse("events:feed")))
    list_small = _query_count(lambda: client.get(reverse("events:list")))
    add(30, 2)
    assert _query_count(lambda: client.get(reverse("events:feed"))) == feed_small
    assert _query_count(lambda: client.get(reverse("events:list"))) == list_small
    assert _query_count(lambda: client.get(reverse("events:list"), {"page": 2})) == list_small


def test_an_organiser_who_is_also_co_organiser_lists_the_event_once(client):
    structure = StructureFactory(name="Pôle ESS")
    event = make_event(title="Rencontre partagée", organisers=[structure])
    services.event_update(event=event, actor=None, co_organisers=[structure])
    assert (
        event.structure_links.filter(role__in=[StructureRole.ORGANISER, StructureRole.CO_ORGANISER]).count()
        == 2
    )

    html = client.get(reverse("events:list"), {"organisateur": structure.slug}).content.decode()

    assert html.count("Rencontre partagée</a>") == 1
    assert "1 événement" in html and "2 événements" not in html


def test_registering_to_a_full_event_does_not_read_the_waiting_list():
    event = make_event(capacity=1)

    def register(n):
        return services.registration_create(event=event, full_name=f"P {n}", email=f"p{n}@exemple.fr")

    register(0)
    register(1)
    with_one_waiting = _query_count(lambda: register(2))
    for n in range(3, 25):
        register(n)
    assert _query_count(lambda: register(99)) == with_one_waiting
    assert event.registrations.holding().count() == 1


def test_a_waiting_person_still_comes_before_a_newcomer_when_places_are_added():
    event = make_event(capacity=1)
    services.registration_create(event=event, full_name="Première", email="a@exemple.fr")
    waiting = services.registration_create(event=event, full_name="Attente", email="b@exemple.fr")
    event = services.event_update(event=event, actor=None, capacity=2)
    assert Registration.objects.get(pk=waiting.pk).status == RegistrationStatus.OFFERED
    # A place freed later (a third one here) goes to the next person waiting before any newcomer.
    second_waiting = services.registration_create(event=event, full_name="Attente 2", email="c@exemple.fr")
    assert second_waiting.status == RegistrationStatus.WAITING
    Event.objects.filter(pk=event.pk).update(capacity=3)
    newcomer = services.registration_create(event=event, full_name="Nouveau", email="d@exemple.fr")
    assert Registration.objects.get(pk=second_waiting.pk).status == RegistrationStatus.OFFERED
    assert newcomer.status == RegistrationStatus.WAITING


def test_unlimited_event_with_a_full_category_keeps_its_waiting_list_in_order():
    event = make_event(capacity=None)
    elected = services.category_add(event=event, label="Élus", quota=1)
    others = services.category_add(event=event, label="Acteurs")

    def register(name, category):
        return services.registration_create(
            event=event, full_name=name, email=f"{name}@exemple.fr", category=category
        )

    assert register("a", elected).status == RegistrationStatus.CONFIRMED
    waiting = register("b", elected)
    assert waiting.status == RegistrationStatus.WAITING
    # Someone is waiting, the event has no capacity: the newcomer of another category still gets a place.
    assert register("c", others).status == RegistrationStatus.CONFIRMED
    assert register("d", elected).status == RegistrationStatus.WAITING
    assert Registration.objects.get(pk=waiting.pk).status == RegistrationStatus.WAITING


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_to_the_registration_form_never_overbook(real_connections):  # noqa: F811
    from django.test import Client

    event = make_event(capacity=4)
    url = reverse("events:register", args=[event.slug])

    def post(i):
        response = Client().post(
            url, {"full_name": f"Personne {i}", "email": f"p{i}@exemple.fr", "consent": "on"}
        )
        assert response.status_code == 200
        return response.content.decode()

    pages = _run_in_threads(12, post)

    assert [p for p in pages if isinstance(p, Exception)] == []
    assert sum("Inscription confirmée</h1>" in page for page in pages) == 4
    assert sum("liste d" in page and "attente</h1>" in page for page in pages) == 8
    assert event.registrations.holding().count() == 4
    assert event.registrations.filter(status=RegistrationStatus.WAITING).count() == 8
