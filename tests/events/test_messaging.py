"""Messages from organisers to an event's participants: audiences, one email each, batches, permissions."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from essaim.actors.models import Membership
from essaim.core.models import AuditLogEntry, OutgoingEmail
from essaim.events import messaging, services
from essaim.events.models import Attendance, Audience, ParticipantMessage
from tests.events.conftest import make_event
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def organiser_of(event):
    structure = StructureFactory()
    services.event_update(event=event, actor=None, organisers=[structure])
    user = UserFactory()
    Membership.objects.create(user=user, structure=structure)
    return user


@pytest.fixture
def crowd():
    """4 places: p1, p2 (present), p4 confirmed; p3 cancelled, its place offered to p5; p6 and a person
    without email waiting."""
    event = make_event(capacity=4)
    people = [
        services.registration_create(event=event, full_name=f"Personne {n}", email=f"p{n}@exemple.fr")
        for n in range(1, 7)
    ]
    services.registration_create(event=event, full_name="Sans courriel", actor=None, by_facilitator=True)
    for registration in people[:2]:
        services.registration_set_attendance(
            registration=registration, attendance=Attendance.PRESENT, actor=None
        )
    services.registration_cancel(registration=people[2])  # the place goes to p5 (offered)
    return event


def recipients():
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (Audience.CONFIRMED, ["p1@exemple.fr", "p2@exemple.fr", "p4@exemple.fr"]),
        (Audience.PRESENT, ["p1@exemple.fr", "p2@exemple.fr"]),
        (Audience.WAITING, ["p6@exemple.fr"]),
    ],
)
def test_message_reaches_its_audience_one_email_each(
    crowd, audience, expected, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    author = FacilitatorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message = messaging.message_send(
            event=crowd, actor=author, audience=audience, subject="Infos pratiques", body="Parking derrière."
        )
    assert message.recipients_count == len(expected)
    assert recipients() == expected
    assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mail.outbox)  # nobody sees the others
    first = mail.outbox[0]
    assert first.subject == "Infos pratiques"
    assert "Parking derrière." in first.body and "/agenda/inscription/" in first.body
    message.refresh_from_db()
    assert message.queued_at is not None
    assert AuditLogEntry.objects.filter(verb="events.message.sent", data__recipients=len(expected)).exists()


def test_emails_are_queued_in_batches_and_never_twice(crowd, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(messaging, "BATCH_SIZE", 2)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        message = messaging.message_send(
            event=crowd, actor=None, audience=Audience.CONFIRMED, subject="Objet", body="Texte"
        )
    assert OutgoingEmail.objects.filter(subject="Objet").count() == 3
    # A retried task finds the message claimed and queues nothing more.
    assert messaging.message_queue_emails(message_id=message.pk, base_url="") == 0
    assert OutgoingEmail.objects.filter(subject="Objet").count() == 3


def test_message_validation_in_french(crowd):
    with pytest.raises(ValidationError, match="Destinataires inconnus"):
        messaging.message_send(event=crowd, actor=None, audience="everyone", subject="a", body="b")
    message = messaging.message_send(
        event=crowd, actor=None, audience=Audience.CONFIRMED, subject="Objet\r\nBcc: x@exemple.fr", body="b"
    )
    assert message.subject == "Objet Bcc: x@exemple.fr"  # no header injection
    ParticipantMessage.objects.all().delete()
    with pytest.raises(ValidationError, match="vide"):
        messaging.message_send(event=crowd, actor=None, audience=Audience.CONFIRMED, subject=" ", body="b")
    empty = make_event(title="Personne")
    with pytest.raises(ValidationError, match="Personne à qui écrire"):
        messaging.message_send(event=empty, actor=None, audience=Audience.CONFIRMED, subject="a", body="b")
    assert not ParticipantMessage.objects.exists()


def test_messages_page_is_for_organisers_and_facilitators(crowd, client, django_capture_on_commit_callbacks):
    url = reverse("events:messages", args=[crowd.slug])
    data = {"audience": "present", "subject": "Merci !", "body": "Merci d'être venus."}
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    assert client.post(url, data).status_code == 404
    assert not ParticipantMessage.objects.exists()

    organiser = organiser_of(crowd)
    client.force_login(organiser)
    html = client.get(url).content.decode()
    assert "Les personnes présentes (2)" in html and "La liste d&#x27;attente (1)" in html
    response = client.post(url, {**data, "body": ""})
    assert "Ce champ est obligatoire." in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data, follow=True)
    html = response.content.decode()
    assert "Message envoyé à 2 personnes." in html
    assert "Merci !" in html and "Merci d&#x27;être venus." in html  # listed on the page
    assert ParticipantMessage.objects.get().sent_by == organiser

    client.force_login(FacilitatorFactory())
    assert "Merci !" in client.get(url).content.decode()
    assert (
        reverse("events:messages", args=[crowd.slug])
        in client.get(reverse("events:detail", args=[crowd.slug])).content.decode()
    )
