"""Reminder email before the event: confirmed participants only, once, with the .ics and the cancel link."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from essaim.actors.models import Membership
from essaim.events import messaging, services
from essaim.events.models import Event, EventStatus, Registration
from essaim.events.tasks import send_event_reminders
from tests.events.conftest import make_event
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def in_hours(hours: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=hours)


def soon_event(title="Café de l'ESS", hours=30, **fields):
    """An event starting in ``hours`` hours (inside the default 2-day window) with 2 confirmed people and 1
    waiting."""
    event = make_event(title=title, start=in_hours(hours), end=in_hours(hours + 3), capacity=2, **fields)
    for n in range(3):
        services.registration_create(
            event=event, full_name=f"Personne {n}", email=f"{event.pk}-{n}@exemple.fr"
        )
    mail.outbox.clear()
    return event


def reminders():
    return [m for m in mail.outbox if m.subject.startswith("Rappel")]


def test_each_confirmed_participant_gets_one_reminder(settings, django_capture_on_commit_callbacks):
    settings.ESSAIM_EVENTS_REMINDER_DAYS = 2
    event = soon_event()
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging.reminders_send(base_url="https://essaim.example.org") == 2
    sent = reminders()
    assert sorted(m.to[0] for m in sent) == [f"{event.pk}-0@exemple.fr", f"{event.pk}-1@exemple.fr"]
    message = sent[0]
    assert message.subject == "Rappel : Café de l'ESS"
    assert "https://essaim.example.org/agenda/inscription/" in message.body
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == ("evenement.ics", "text/calendar")
    assert str(Calendar.from_ical(content).walk("VEVENT")[0]["summary"]) == "Café de l'ESS"
    assert Registration.objects.filter(reminded_at__isnull=False).count() == 2

    # Never twice: the next runs (hourly task) send nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging.reminders_send() == 0
        send_event_reminders.call_local()
    assert len(reminders()) == 2


def test_the_cancel_link_of_the_reminder_works(client, django_capture_on_commit_callbacks):
    event = soon_event()
    with django_capture_on_commit_callbacks(execute=True):
        messaging.reminders_send(base_url="http://testserver")
    link = next(line for line in reminders()[0].body.split() if "/agenda/inscription/" in line)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link.removeprefix("http://testserver"), {"action": "cancel"})
    assert event.registrations.filter(status="cancelled").count() == 1
    assert event.registrations.filter(status="offered").count() == 1  # the waiting person is offered it


def test_reminder_window_and_per_event_toggle(settings, django_capture_on_commit_callbacks):
    settings.ESSAIM_EVENTS_REMINDER_DAYS = 2
    soon_event(title="Dans 3 jours", hours=72)
    soon_event(title="Sans rappel", reminders_enabled=False)
    cancelled = soon_event(title="Annulé")
    services.event_cancel(event=cancelled, actor=None)
    soon_event(title="Déjà commencé", hours=-1)
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging.reminders_send() == 0
    settings.ESSAIM_EVENTS_REMINDER_DAYS = 4
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging.reminders_send() == 2
    assert {m.subject for m in reminders()} == {"Rappel : Dans 3 jours"}
    settings.ESSAIM_EVENTS_REMINDER_DAYS = 0  # 0 disables reminders
    Registration.objects.update(reminded_at=None)
    assert messaging.reminders_send() == 0


def test_organisers_switch_the_reminder_off(client):
    event = make_event()
    structure = StructureFactory()
    services.event_update(event=event, actor=None, organisers=[structure])
    organiser = UserFactory()
    Membership.objects.create(user=organiser, structure=structure)
    url = reverse("events:questions", args=[event.slug])

    client.force_login(UserFactory())
    assert client.post(url, {"form": "reminders"}).status_code == 404
    assert Event.objects.get(pk=event.pk).reminders_enabled is True

    client.force_login(organiser)
    assert client.post(url, {"form": "reminders"}).status_code == 302  # unchecked box: off
    assert Event.objects.get(pk=event.pk).reminders_enabled is False
    client.post(url, {"form": "reminders", "reminders_enabled": "on"})
    assert Event.objects.get(pk=event.pk).reminders_enabled is True


def test_draft_events_get_no_reminder(django_capture_on_commit_callbacks):
    event = soon_event()
    Event.objects.filter(pk=event.pk).update(status=EventStatus.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        assert messaging.reminders_send() == 0
