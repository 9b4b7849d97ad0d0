import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from icalendar import Calendar

from essaim.core.models import AuditLogEntry
from essaim.events import services
from essaim.events.models import (
    Attendance,
    Event,
    EventStatus,
    PaymentStatus,
    Registration,
    RegistrationStatus,
)
from tests.events.conftest import at, make_event
from tests.factories import FacilitatorFactory, StructureFactory

pytestmark = pytest.mark.django_db


def register(event, n, **kwargs):
    return services.registration_create(
        event=event, full_name=f"Personne {n}", email=f"personne{n}@exemple.fr", **kwargs
    )


# --- Events -----------------------------------------------------------------------------------------------


def test_event_create_links_structures_and_normalises_title():
    organiser, partner = StructureFactory(), StructureFactory(family="public")
    event = make_event(title="Café Pluche à Nontron", organisers=[organiser], funders=[partner])

    assert event.search_title == "cafe pluche a nontron"
    assert list(Event.objects.organised_by(organiser)) == [event]
    assert list(Event.objects.organised_by(partner)) == []
    assert event.slug.startswith("cafe-pluche-a-nontron-")


def test_event_end_before_start_is_refused_with_a_french_message():
    with pytest.raises(ValidationError) as exc:
        make_event(start=at(5, 17), end=at(5, 9))
    assert "La fin de l'événement ne peut pas précéder son début." in str(exc.value)
    assert not Event.objects.exists()


def test_database_refuses_an_end_before_start_even_without_the_service():
    event = make_event()
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(end=event.start - datetime.timedelta(hours=1))


def test_event_needs_a_place_or_a_link():
    with pytest.raises(ValidationError, match="Indiquez un lieu"):
        make_event(place_name="")
    assert make_event(place_name="", online_url="https://visio.exemple.fr/ess").is_online


def test_status_transitions_follow_the_lifecycle_and_are_logged():
    event = make_event(status=EventStatus.DRAFT)
    facilitator = FacilitatorFactory()
    services.event_submit(event=event, actor=facilitator)
    services.event_publish(event=event, actor=facilitator)
    services.event_cancel(event=event, actor=facilitator)
    with pytest.raises(ValidationError, match="Passage impossible"):
        services.event_publish(event=event, actor=facilitator)
    event.refresh_from_db()
    assert event.status == EventStatus.CANCELLED
    verbs = list(
        AuditLogEntry.objects.filter(verb="events.event.status_changed")
        .order_by("pk")
        .values_list("data", flat=True)
    )
    assert [(d["from"], d["to"]) for d in verbs] == [
        ("draft", "pending"),
        ("pending", "published"),
        ("published", "cancelled"),
    ]


# --- Registration ---------------------------------------------------------------------------------------


def test_registration_confirms_then_waits_when_full(event):
    first, second, third = (register(event, n) for n in range(3))
    assert [r.status for r in (first, second, third)] == ["confirmed", "confirmed", "waiting"]


def test_category_quota_sends_to_waiting_list_even_with_room_left():
    event = make_event(capacity=10)
    collectivite = services.category_add(event=event, label="Collectivité", quota=1)
    acteur = services.category_add(event=event, label="Acteur de l'ESS")

    assert register(event, 1, category=collectivite).status == "confirmed"
    assert register(event, 2, category=collectivite).status == "waiting"
    assert register(event, 3, category=acteur).status == "confirmed"


def test_session_capacity_and_one_session_per_slot():
    event = make_event(capacity=10)
    visit = services.session_add(event=event, title="Visite", start=at(10, 14), end=at(10, 16), capacity=1)
    workshop = services.session_add(event=event, title="Atelier", start=at(10, 14), end=at(10, 16))

    assert register(event, 1, sessions=[visit]).status == "confirmed"
    assert register(event, 2, sessions=[visit]).status == "waiting"
    assert register(event, 3, sessions=[workshop]).status == "confirmed"
    with pytest.raises(ValidationError, match="une seule session par créneau"):
        register(event, 4, sessions=[visit, workshop])


def test_price_sets_payment_to_pay():
    event = make_event(capacity=10)
    paying = services.category_add(event=event, label="Acteurs", price_cents=2500)
    free = services.category_add(event=event, label="Étudiants")
    assert register(event, 1, category=paying).payment == PaymentStatus.TO_PAY
    assert register(event, 2, category=free).payment == PaymentStatus.NONE
    assert paying.price_display == "25 €"


def test_same_email_twice_is_refused(event):
    register(event, 1)
    with pytest.raises(ValidationError, match="déjà inscrite"):
        services.registration_create(event=event, full_name="Autre", email="PERSONNE1@exemple.fr")


def test_closed_registration_refuses_the_public_but_not_a_facilitator():
    event = make_event(registration_open=False)
    with pytest.raises(ValidationError, match="fermées"):
        register(event, 1)
    facilitator = FacilitatorFactory()
    registration = services.registration_create(
        event=event, full_name="Inscrite par téléphone", actor=facilitator, by_facilitator=True
    )
    assert registration.status == "confirmed"
    assert registration.registered_by == facilitator


def test_registration_dates_close_the_form():
    event = make_event(registration_closes_at=timezone.now() - datetime.timedelta(hours=1))
    assert not services.registration_is_open(event)


def test_confirmation_email_has_a_valid_ics_attachment(event, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        register(event, 1)
    message = mail.outbox[-1]
    assert message.to == ["personne1@exemple.fr"]
    assert "confirmée" in message.subject
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == ("evenement.ics", "text/calendar")
    calendar = Calendar.from_ical(content)
    vevent = calendar.walk("VEVENT")[0]
    assert str(vevent["summary"]) == event.title
    assert f"/agenda/{event.slug}/" in str(vevent["url"])
    assert "/agenda/inscription/" in message.body  # the cancellation link


def test_cancel_promotes_first_waiting_person_with_an_expiry(event, django_capture_on_commit_callbacks):
    first, _second = register(event, 1), register(event, 2)
    waiting_1, waiting_2 = register(event, 3), register(event, 4)

    with django_capture_on_commit_callbacks(execute=True):
        services.registration_cancel(registration=first)

    waiting_1.refresh_from_db()
    waiting_2.refresh_from_db()
    assert waiting_1.status == RegistrationStatus.OFFERED
    assert waiting_1.offer_expires_at > timezone.now() + datetime.timedelta(hours=47)
    assert waiting_2.status == RegistrationStatus.WAITING
    assert any("Une place s'est libérée" in m.subject and m.to == [waiting_1.email] for m in mail.outbox)
    assert AuditLogEntry.objects.filter(
        verb="events.registration.promoted", object_id=str(waiting_1.pk)
    ).exists()

    services.registration_confirm_offer(registration=waiting_1)
    waiting_1.refresh_from_db()
    assert waiting_1.status == RegistrationStatus.CONFIRMED
    assert event.registrations.holding().count() == 2


def test_expired_offer_passes_to_the_next_person(event):
    first = register(event, 1)
    register(event, 2)
    waiting_1, waiting_2 = register(event, 3), register(event, 4)
    services.registration_cancel(registration=first)
    waiting_1.refresh_from_db()

    later = waiting_1.offer_expires_at + datetime.timedelta(minutes=1)
    assert services.offers_expire(now=later) == 1

    waiting_1.refresh_from_db()
    waiting_2.refresh_from_db()
    assert waiting_1.status == RegistrationStatus.CANCELLED
    assert waiting_2.status == RegistrationStatus.OFFERED
    with pytest.raises(ValidationError, match="délai"):
        services.registration_confirm_offer(registration=waiting_1)
    assert event.registrations.holding().count() == 2


def test_expiry_task_runs_the_service(event):
    from essaim.events.tasks import expire_offered_places

    first = register(event, 1)
    register(event, 2)
    waiting = register(event, 3)
    services.registration_cancel(registration=first)
    Registration.objects.filter(pk=waiting.pk).update(offer_expires_at=timezone.now() - datetime.timedelta(1))

    expire_offered_places.call_local()

    waiting.refresh_from_db()
    assert waiting.status == RegistrationStatus.CANCELLED


def test_promotion_skips_a_person_whose_category_is_still_full():
    event = make_event(capacity=2)
    limited = services.category_add(event=event, label="Collectivité", quota=1)
    other = services.category_add(event=event, label="Acteur")
    first = register(event, 1, category=other)
    register(event, 2, category=limited)
    blocked = register(event, 3, category=limited)
    next_one = register(event, 4, category=other)

    services.registration_cancel(registration=first)

    blocked.refresh_from_db()
    next_one.refresh_from_db()
    assert (blocked.status, next_one.status) == ("waiting", "offered")


def test_cancelling_twice_is_a_no_op(event):
    registration = register(event, 1)
    services.registration_cancel(registration=registration)
    services.registration_cancel(registration=registration)
    assert AuditLogEntry.objects.filter(verb="events.registration.cancelled").count() == 1


def test_a_person_checked_in_as_present_cannot_be_cancelled(event, django_capture_on_commit_callbacks):
    """The attendance sheet and the bilan count them: the check-in is taken back first."""
    from essaim.events.reports import event_report

    present = register(event, 1)
    register(event, 2)
    waiting = register(event, 3)
    services.registration_set_attendance(registration=present, attendance="present", actor=None)

    with pytest.raises(ValidationError, match="pointée présente"):
        services.registration_cancel(registration=present)
    present.refresh_from_db()
    waiting.refresh_from_db()
    assert (present.status, waiting.status) == ("confirmed", "waiting")
    assert event_report(event).present == 1

    services.registration_set_attendance(registration=present, attendance="unknown", actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.registration_cancel(registration=present)
    waiting.refresh_from_db()
    assert waiting.status == "offered"
    assert event_report(event).present == 0


def test_signed_link_finds_the_registration_and_rejects_forgeries(event):
    registration = register(event, 1)
    signature = services.cancel_signature(registration)
    assert services.registration_from_signature(signature) == registration
    assert services.registration_from_signature(signature[:-2] + "xx") is None
    assert services.registration_from_signature(registration.token) is None


# --- Attendance ---------------------------------------------------------------------------------------------


def test_attendance_and_walk_in_are_logged(event):
    facilitator = FacilitatorFactory()
    registration = register(event, 1)
    services.registration_set_attendance(
        registration=registration, attendance=Attendance.PRESENT, actor=facilitator
    )
    walk_in = services.registration_walk_in(
        event=event, full_name="Venue sans inscription", actor=facilitator
    )

    registration.refresh_from_db()
    assert registration.attendance == Attendance.PRESENT
    assert (walk_in.status, walk_in.attendance, walk_in.is_walk_in) == ("confirmed", "present", True)
    verbs = set(AuditLogEntry.objects.values_list("verb", flat=True))
    assert {"events.registration.checked_in", "events.registration.walk_in"} <= verbs
    with pytest.raises(ValidationError):
        services.registration_set_attendance(registration=registration, attendance="bof", actor=facilitator)


def test_waiting_person_cannot_be_checked_in_present(event):
    register(event, 1)
    register(event, 2)
    waiting = register(event, 3)
    with pytest.raises(ValidationError, match="confirmée"):
        services.registration_set_attendance(registration=waiting, attendance=Attendance.PRESENT, actor=None)


def test_database_refuses_an_offer_without_expiry(event):
    registration = register(event, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Registration.objects.filter(pk=registration.pk).update(status=RegistrationStatus.OFFERED)


def test_larger_capacity_goes_to_the_waiting_list_before_newcomers(event):
    register(event, 1)
    register(event, 2)
    waiting = register(event, 3)

    services.event_update(event=event, actor=None, capacity=3)

    waiting.refresh_from_db()
    assert waiting.status == RegistrationStatus.OFFERED
    assert register(event, 4).status == RegistrationStatus.WAITING
