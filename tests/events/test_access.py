"""Permission matrix: who sees what of an event and its participants (404 for what one may not see)."""

import pytest
from django.urls import reverse

from essaim.actors.models import Membership
from essaim.events import services
from essaim.events.models import EventStatus, Visibility
from tests.events.conftest import make_event
from tests.factories import AdminFactory, FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = ["anonymous", "member", "author", "organiser", "partner_member", "facilitator", "admin"]


@pytest.fixture
def world():
    organiser_structure, partner_structure = StructureFactory(), StructureFactory()
    people = {
        "anonymous": None,
        "member": UserFactory(),
        "author": UserFactory(),
        "organiser": UserFactory(),
        "partner_member": UserFactory(),
        "facilitator": FacilitatorFactory(),
        "admin": AdminFactory(),
    }
    Membership.objects.create(user=people["organiser"], structure=organiser_structure)
    Membership.objects.create(user=people["partner_member"], structure=partner_structure)

    def event(**fields):
        created = make_event(organisers=[organiser_structure], supporters=[partner_structure], **fields)
        created.created_by = people["author"]
        created.save(update_fields=["created_by"])
        services.registration_create(
            event=created, full_name="Personne Privée", email="privee@exemple.fr", by_facilitator=True
        )
        return created

    return people, event


def status_for(client, user, url):
    if user is not None:
        client.force_login(user)
    return client.get(url).status_code


# (event kind, URL name, people who get 200; everyone else gets 404 — or a login redirect when anonymous).
MATRIX = [
    ("public", "events:detail", set(PEOPLE)),
    ("members", "events:detail", set(PEOPLE) - {"anonymous"}),
    ("draft", "events:detail", {"author", "organiser", "facilitator", "admin"}),
    ("pending", "events:detail", {"author", "organiser", "facilitator", "admin"}),
    ("draft", "events:edit", {"author", "organiser", "facilitator", "admin"}),
    ("public", "events:edit", {"organiser", "facilitator", "admin"}),
    ("public", "events:participants", {"organiser", "facilitator", "admin"}),
    ("public", "events:checkin", {"organiser", "facilitator", "admin"}),
    ("public", "events:attendance_sheet", {"organiser", "facilitator", "admin"}),
    ("public", "events:report", {"organiser", "facilitator", "admin"}),
]
KINDS = {
    "public": {},
    "members": {"visibility": Visibility.MEMBERS},
    "draft": {"status": EventStatus.DRAFT},
    "pending": {"status": EventStatus.PENDING},
}


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize(("kind", "url_name", "allowed"), MATRIX, ids=[f"{k}-{u}" for k, u, _ in MATRIX])
def test_permission_matrix(client, world, person, kind, url_name, allowed):
    people, make = world
    event = make(**KINDS[kind])
    code = status_for(client, people[person], reverse(url_name, args=[event.slug]))
    if person in allowed:
        assert code == 200
    elif person == "anonymous" and url_name != "events:detail":
        assert code == 302  # to the login page
    else:
        assert code == 404


@pytest.mark.parametrize("person", PEOPLE)
def test_participant_names_never_leak_to_public_pages(client, world, person):
    people, make = world
    event = make()
    if people[person] is not None:
        client.force_login(people[person])
    for url in (
        reverse("events:detail", args=[event.slug]),
        reverse("events:list"),
        reverse("events:ics", args=[event.slug]),
        reverse("events:feed"),
    ):
        assert "Personne Privée" not in client.get(url).content.decode()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_report_exports_are_for_organisers_and_facilitators(client, world, fmt):
    people, make = world
    event = make()
    url = reverse("events:report_export", args=[event.slug, fmt])
    assert status_for(client, people["member"], url) == 404
    assert status_for(client, people["organiser"], url) == 200


def test_programme_report_is_for_facilitators(client, world):
    people, _ = world
    programme = services.programme_save(title="Mois de l'ESS", actor=None)
    url = reverse("events:programme_report", args=[programme.slug])
    assert status_for(client, people["organiser"], url) == 404
    assert status_for(client, people["facilitator"], url) == 200


def test_organiser_cannot_manage_another_event(client, world):
    people, make = world
    other = make_event(title="Un autre événement")
    assert status_for(client, people["organiser"], reverse("events:participants", args=[other.slug])) == 404
    assert make  # the fixture's events stay theirs
