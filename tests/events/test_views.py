import base64
import json
import re
import zlib

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from essaim.actors.models import Membership, Theme
from essaim.core.models import AuditLogEntry
from essaim.events import services
from essaim.events.models import Attendance, Event, EventStatus, Registration, RegistrationStatus, Visibility
from essaim.territories.models import Perimeter, PerimeterCommune
from tests.events.conftest import at, make_event
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def organiser_of(event):
    structure = StructureFactory()
    services.event_update(event=event, actor=None, organisers=[structure])
    user = UserFactory()
    Membership.objects.create(user=user, structure=structure)
    return user


# --- Public agenda ----------------------------------------------------------------------------------------


def test_agenda_lists_upcoming_public_published_events_only(client):
    shown = make_event(title="Bouillon de territoire")
    make_event(title="Brouillon caché", status=EventStatus.DRAFT)
    make_event(title="Réservé aux membres", visibility=Visibility.MEMBERS)
    make_event(title="Déjà passé", start=at(-3, 9), end=at(-3, 12))

    html = client.get(reverse("events:list")).content.decode()

    assert shown.title in html
    for hidden in ("Brouillon caché", "Réservé aux membres", "Déjà passé"):
        assert hidden not in html


def test_members_only_events_are_listed_for_signed_in_accounts(client):
    make_event(title="Réservé aux membres", visibility=Visibility.MEMBERS)
    client.force_login(UserFactory())
    assert "Réservé aux membres" in client.get(reverse("events:list")).content.decode()


def test_agenda_filters(client, communes):
    theme = Theme.objects.create(slug="circuits-courts", label="Circuits courts")
    organiser = StructureFactory(name="Maison de l'Emploi")
    perimeter = Perimeter.objects.create(name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom")
    PerimeterCommune.objects.create(perimeter=perimeter, commune=communes["82037"])
    make_event(title="Financement participatif", commune=communes["82037"], organisers=[organiser])
    make_event(title="Collectivités et ESS", commune=communes["82137"], themes=[theme], kind="conference")
    make_event(title="Bouillon de territoire", commune=communes["24311"], days=40)

    def titles(**params):
        html = client.get(reverse("events:list"), params).content.decode()
        return sorted(
            t
            for t in ("Financement participatif", "Collectivités et ESS", "Bouillon de territoire")
            if t in html
        )

    assert titles(territoire="pays-midi-quercy") == ["Financement participatif"]
    assert titles(theme="circuits-courts") == ["Collectivités et ESS"]
    assert titles(type="conference") == ["Collectivités et ESS"]
    assert titles(organisateur=organiser.slug) == ["Financement participatif"]
    assert titles(q="collectivites") == ["Collectivités et ESS"]
    assert titles(du=at(30).date().isoformat()) == ["Bouillon de territoire"]
    assert len(titles()) == 3


def test_agenda_htmx_returns_the_results_fragment(client):
    make_event(title="Bouillon de territoire")
    response = client.get(reverse("events:list"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "Bouillon de territoire" in html
    assert "<html" not in html


def test_event_page_has_schema_org_json_ld(client, communes):
    organiser = StructureFactory(name="Pays Périgord Vert")
    event = make_event(title="Bouillon de territoire", commune=communes["24311"], organisers=[organiser])
    services.category_add(event=event, label="Acteurs", price_cents=2500)

    html = client.get(reverse("events:detail", args=[event.slug])).content.decode()

    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    data = json.loads(match.group(1))
    assert data["@type"] == "Event"
    assert data["name"] == "Bouillon de territoire"
    assert data["location"]["address"]["addressLocality"] == "Nontron"
    assert data["organizer"] == [{"@type": "Organization", "name": "Pays Périgord Vert"}]
    assert data["offers"][0]["price"] == "25.00"
    assert data["url"].endswith(f"/agenda/{event.slug}/")


def test_json_ld_cannot_break_out_of_its_script(client):
    event = make_event(title="</script><script>alert(1)</script>")
    html = client.get(reverse("events:detail", args=[event.slug])).content.decode()
    assert "<script>alert(1)" not in html


def test_programme_page_lists_its_events(client):
    programme = services.programme_save(title="Mois de l'ESS — Pays Midi-Quercy", actor=None)
    make_event(title="Outils pour entreprendre", programme=programme)
    make_event(title="Hors programme")
    html = client.get(reverse("events:programme", args=[programme.slug])).content.decode()
    assert "Outils pour entreprendre" in html
    assert "Hors programme" not in html


# --- Proposal and moderation ------------------------------------------------------------------------------


EVENT_POST = {
    "title": "Café palabre sur la gratuité",
    "kind": "cafe",
    "description": "Un café pour parler de gratuité.",
    "start": "2030-11-29T14:00",
    "end": "2030-11-29T18:00",
    "place_name": "La Cheminée",
    "address": "",
    "commune_code": "",
    "online_url": "",
    "accessibility": "",
    "visibility": "public",
    "capacity": "",
}


def test_member_proposes_an_event_that_goes_to_review(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("events:create"), EVENT_POST)
    event = Event.objects.get()
    assert response.status_code == 302
    assert event.status == EventStatus.PENDING
    assert event.created_by == user
    # A member cannot publish.
    response = client.post(reverse("events:status", args=[event.slug]), {"action": "publish"})
    assert response.status_code == 404
    event.refresh_from_db()
    assert event.status == EventStatus.PENDING


def test_facilitator_publishes_a_proposal(client):
    event = make_event(status=EventStatus.PENDING)
    client.force_login(FacilitatorFactory())
    client.post(reverse("events:status", args=[event.slug]), {"action": "publish"})
    event.refresh_from_db()
    assert event.status == EventStatus.PUBLISHED


def test_event_form_shows_french_errors(client):
    client.force_login(UserFactory())
    response = client.post(reverse("events:create"), {**EVENT_POST, "end": "2030-11-29T10:00"})
    assert response.status_code == 200
    assert "La fin de l&#x27;événement ne peut pas précéder son début." in response.content.decode()
    assert not Event.objects.exists()


def test_anonymous_visitor_cannot_propose(client):
    response = client.get(reverse("events:create"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_organiser_edits_the_event(client, communes):
    event = make_event()
    client.force_login(organiser_of(event))
    own = event.structure_links.get().structure
    partner = StructureFactory(name="Aquitaine Active")
    response = client.post(
        reverse("events:edit", args=[event.slug]),
        {
            **EVENT_POST,
            "title": "Nouveau titre",
            "commune_code": "82037",
            "organisers": own.name,
            "supporters": "aquitaine active\n",
        },
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.title, event.commune.code) == ("Nouveau titre", "82037")
    assert set(event.structure_links.values_list("structure", "role")) == {
        (own.pk, "organiser"),
        (partner.pk, "supporter"),
    }


def test_unknown_structure_name_is_a_form_error(client):
    event = make_event()
    client.force_login(FacilitatorFactory())
    response = client.post(
        reverse("events:edit", args=[event.slug]), {**EVENT_POST, "organisers": "Structure qui n'existe pas"}
    )
    assert response.status_code == 200
    assert 'id="id_organisers_error"' in response.content.decode()
    event.refresh_from_db()
    assert event.title != EVENT_POST["title"]


# --- Registration journey ---------------------------------------------------------------------------------


def test_register_then_cancel_by_the_signed_link(client, django_capture_on_commit_callbacks):
    event = make_event(capacity=1)
    url = reverse("events:register", args=[event.slug])
    data = {
        "full_name": "Camille Martin",
        "email": "camille@exemple.fr",
        "structure_name": "",
        "consent": "on",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert "Inscription confirmée" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**data, "full_name": "Dominique", "email": "dominique@exemple.fr"})
    assert "Vous êtes sur la liste d'attente" in response.content.decode()

    link = re.search(r"http://testserver(/agenda/inscription/[^/\s]+/)", mail.outbox[0].body).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link, {"action": "cancel"})
    statuses = dict(Registration.objects.values_list("email", "status"))
    assert statuses == {"camille@exemple.fr": "cancelled", "dominique@exemple.fr": "offered"}

    offer_link = re.search(r"http://testserver(/agenda/inscription/[^/\s]+/)", mail.outbox[-1].body).group(1)
    client.post(offer_link, {"action": "confirm"})
    assert Registration.objects.get(email="dominique@exemple.fr").status == RegistrationStatus.CONFIRMED


def test_registration_needs_consent_and_a_category(client):
    event = make_event()
    services.category_add(event=event, label="Collectivité")
    response = client.post(
        reverse("events:register", args=[event.slug]), {"full_name": "A", "email": "a@exemple.fr"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_consent_error"' in html
    assert 'id="id_category_error"' in html
    assert not Registration.objects.exists()


def test_typed_structure_name_links_the_annuaire_card(client):
    event = make_event()
    structure = StructureFactory(name="Terre de Liens")
    client.post(
        reverse("events:register", args=[event.slug]),
        {"full_name": "A", "email": "a@exemple.fr", "structure_name": "terre de liens", "consent": "on"},
    )
    registration = Registration.objects.get()
    assert (registration.structure, registration.structure_name) == (structure, "")


def test_forged_link_is_404(client):
    assert client.get(reverse("events:registration_manage", args=["faux:lien"])).status_code == 404


# --- Check-in, attendance sheet --------------------------------------------------------------------------


def test_checkin_search_and_tick_over_htmx(client):
    event = make_event(capacity=10)
    camille = services.registration_create(event=event, full_name="Camille Martin", email="c@exemple.fr")
    services.registration_create(event=event, full_name="Dominique Durand", email="d@exemple.fr")
    facilitator = FacilitatorFactory()
    client.force_login(facilitator)
    url = reverse("events:checkin", args=[event.slug])

    html = client.get(url, {"q": "camille"}, headers={"HX-Request": "true"}).content.decode()
    assert "Camille Martin" in html and "Dominique Durand" not in html and "<html" not in html

    response = client.post(
        url,
        {"registration": camille.pk, "attendance": "present", "q": "camille"},
        headers={"HX-Request": "true"},
    )
    assert "1 présent sur 2 inscrits" in response.content.decode()
    camille.refresh_from_db()
    assert camille.attendance == Attendance.PRESENT
    assert AuditLogEntry.objects.filter(verb="events.registration.checked_in", actor=facilitator).exists()


def test_checkin_adds_a_walk_in(client):
    event = make_event(capacity=1)
    services.registration_create(event=event, full_name="Inscrite", email="i@exemple.fr")
    client.force_login(FacilitatorFactory())
    client.post(
        reverse("events:checkin", args=[event.slug]),
        {"form": "walk_in", "full_name": "Venu sans inscription", "structure_name": "Ozon"},
    )
    walk_in = Registration.objects.get(full_name="Venu sans inscription")
    assert (walk_in.attendance, walk_in.is_walk_in, walk_in.structure_name) == ("present", True, "Ozon")


def pdf_page_texts(body: bytes) -> list[str]:
    """The text drawn by each content stream of a reportlab PDF (one stream per page), in order."""
    texts = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", body, re.S):
        try:
            content = zlib.decompress(raw)
        except zlib.error:
            try:
                content = zlib.decompress(base64.a85decode(raw.strip(), adobe=True))
            except (ValueError, zlib.error):
                continue
        if b"Tj" in content:
            texts.append(" ".join(m.decode("latin-1") for m in re.findall(rb"\((.*?)\) Tj", content)))
    return texts


def test_attendance_sheet_pdf_is_sorted_paginated_with_repeated_header(client):
    event = make_event(capacity=100)
    for n in reversed(range(45)):
        services.registration_create(event=event, full_name=f"Personne {n:02d}", email=f"p{n}@exemple.fr")
    services.registration_create(event=event, full_name="Zoé Attente", email="z@exemple.fr")
    Registration.objects.filter(full_name="Zoé Attente").update(status="waiting")
    client.force_login(FacilitatorFactory())

    response = client.get(reverse("events:attendance_sheet", args=[event.slug]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pages = pdf_page_texts(response.content)
    assert len(pages) >= 2
    assert all("Signature" in page for page in pages)
    names = re.findall(r"Personne \d\d", " ".join(pages))
    assert names == [f"Personne {n:02d}" for n in range(45)]
    assert "Attente" not in " ".join(pages)


# --- Feeds --------------------------------------------------------------------------------------------------


def test_ics_feeds_are_valid_and_link_back(client):
    organiser = StructureFactory()
    programme = services.programme_save(title="Mois de l'ESS", actor=None)
    in_programme = make_event(title="Dans le programme", programme=programme, organisers=[organiser])
    make_event(title="Autre")
    make_event(title="Brouillon", status=EventStatus.DRAFT)

    def summaries(url):
        response = client.get(url)
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        calendar = Calendar.from_ical(response.content)
        assert str(calendar["version"]) == "2.0" and calendar["prodid"]
        for vevent in calendar.walk("VEVENT"):
            assert vevent["uid"] and vevent["dtstamp"] and vevent["dtstart"]
            assert str(vevent["url"]).startswith("http://testserver/agenda/")
        return sorted(str(v["summary"]) for v in calendar.walk("VEVENT"))

    assert summaries(reverse("events:feed")) == ["Autre", "Dans le programme"]
    assert summaries(reverse("events:programme_feed", args=[programme.slug])) == ["Dans le programme"]
    assert summaries(reverse("events:organiser_feed", args=[organiser.slug])) == ["Dans le programme"]
    assert summaries(reverse("events:ics", args=[in_programme.slug])) == ["Dans le programme"]
    # Lines are folded at 75 octets and end with CRLF (RFC 5545 3.1).
    body = client.get(reverse("events:feed")).content
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))


def test_organiser_records_a_payment(client):
    event = make_event()
    category = services.category_add(event=event, label="Acteurs", price_cents=2500)
    registration = services.registration_create(
        event=event, full_name="Camille", email="c@exemple.fr", category=category
    )
    organiser = organiser_of(event)
    client.force_login(organiser)
    assert "Payé par chèque" in client.get(reverse("events:participants", args=[event.slug])).content.decode()

    client.post(
        reverse("events:participant_payment", args=[event.slug, registration.pk]), {"payment": "paid_cheque"}
    )

    registration.refresh_from_db()
    assert registration.payment == "paid_cheque"
    assert AuditLogEntry.objects.filter(verb="events.registration.payment_changed", actor=organiser).exists()
    other = make_event(title="Autre")
    client.force_login(UserFactory())
    response = client.post(
        reverse("events:participant_payment", args=[other.slug, registration.pk]), {"payment": "exempt"}
    )
    assert response.status_code == 404


def test_agenda_shows_what_is_to_come_and_links_to_past_events(client):
    past = make_event(title="Bouillon d'automne passé", days=-30)
    coming = make_event(title="Rencontre à venir", days=5)

    page = client.get("/agenda/")
    titles = [event.title for event in page.context["page"]]
    assert titles == [coming.title]
    match = re.search(r'href="\?([^"]*)">Voir les événements passés', page.content.decode())
    assert match, "the agenda links to past events"

    past_page = client.get("/agenda/?" + match.group(1).replace("&amp;", "&"))
    assert past.title in [event.title for event in past_page.context["page"]]
    assert coming.title not in [event.title for event in past_page.context["page"]]
    # With dates chosen, the page no longer offers the shortcut.
    assert "Voir les événements passés" not in past_page.content.decode()


def test_organiser_cannot_cancel_a_person_checked_in_as_present(client):
    event = make_event()
    registration = services.registration_create(event=event, full_name="Camille", email="c@exemple.fr")
    services.registration_set_attendance(registration=registration, attendance="present", actor=None)
    client.force_login(organiser_of(event))

    response = client.post(
        reverse("events:participant_cancel", args=[event.slug, registration.pk]), follow=True
    )

    assert "ne peut plus être annulée" in response.content.decode()
    registration.refresh_from_db()
    assert (registration.status, registration.attendance) == ("confirmed", "present")
