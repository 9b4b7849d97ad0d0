"""Emails to an event's participants: messages written by its organisers, and the reminder before the event.

Each participant gets their own email (addresses are never shown to other participants), with the link to
manage or cancel their registration. Emails go through the project's queue (``EMAIL_BACKEND`` stores them,
a task delivers them); a message to many people is queued by a background task, in batches.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from essaim.core.audit import log_action
from essaim.events import ics
from essaim.events.models import (
    Attendance,
    Audience,
    Event,
    EventStatus,
    ParticipantMessage,
    Registration,
    RegistrationStatus,
)
from essaim.events.services import cancel_signature

BATCH_SIZE = 100
MAX_BODY = 10_000


def audience_registrations(event: Event, audience: str):
    """The registrations a message to ``audience`` reaches (those with an email address)."""
    registrations = event.registrations.exclude(email="").filter(anonymised_at__isnull=True)
    if audience == Audience.CONFIRMED:
        return registrations.filter(status=RegistrationStatus.CONFIRMED)
    if audience == Audience.PRESENT:
        return registrations.filter(status=RegistrationStatus.CONFIRMED, attendance=Attendance.PRESENT)
    if audience == Audience.WAITING:
        return registrations.filter(status=RegistrationStatus.WAITING)
    raise ValidationError({"audience": "Destinataires inconnus."})


@transaction.atomic
def message_send(*, event: Event, actor, audience: str, subject: str, body: str) -> ParticipantMessage:
    """Store a message to ``audience`` and queue one email per recipient once the transaction commits.

    Raises ValidationError (French) for an unknown audience, an empty subject or body, a body too long, or
    an audience with nobody to write to. The caller checks permission (``event_can_manage_participants``).
    """
    # One line: a line break in a subject would be a header injection (and Django refuses to send it).
    subject = " ".join((subject or "").split())
    body = (body or "").strip()
    if len(body) > MAX_BODY:
        raise ValidationError({"body": f"Le message est trop long ({MAX_BODY} caractères au plus)."})
    count = audience_registrations(event, audience).count()
    message = ParticipantMessage(
        event=event, audience=audience, subject=subject, body=body, sent_by=actor, recipients_count=count
    )
    message.full_clean()
    if not count:
        raise ValidationError({"audience": "Personne à qui écrire parmi ces destinataires."})
    message.save()
    log_action(
        actor=actor,
        verb="events.message.sent",
        obj=message,
        data={"event": event.pk, "audience": audience, "recipients": count},
    )
    from essaim.events.tasks import queue_participant_message  # tasks import this module

    transaction.on_commit(lambda: queue_participant_message(message.pk))
    return message


def message_queue_emails(*, message_id: int, base_url: str) -> int:
    """Queue the emails of a stored message, ``BATCH_SIZE`` at a time; returns how many were queued.

    Runs once per message (``queued_at`` is claimed first), so a retried task sends nothing twice.
    """
    claimed = ParticipantMessage.objects.filter(pk=message_id, queued_at__isnull=True).update(
        queued_at=timezone.now()
    )
    if not claimed:
        return 0
    message = ParticipantMessage.objects.select_related("event").get(pk=message_id)
    event = message.event
    registrations = audience_registrations(event, message.audience).select_related("event").order_by("pk")
    queued = 0
    connection = get_connection()
    batch: list[EmailMessage] = []
    for registration in registrations.iterator(chunk_size=BATCH_SIZE):
        text = (
            f"Bonjour {registration.full_name},\n\n{message.body}\n\n"
            f"— Message des organisateurs de « {event.title} » ({_when(event)}).\n"
            f"Pour gérer ou annuler votre inscription : {manage_url(registration, base_url)}\n"
        )
        batch.append(EmailMessage(subject=message.subject, body=text, to=[registration.email]))
        if len(batch) >= BATCH_SIZE:
            queued += _flush(connection, batch)
    queued += _flush(connection, batch)
    return queued


def _flush(connection, batch: list[EmailMessage]) -> int:
    """Queue a batch in one transaction (one commit for a hundred rows, not a hundred commits)."""
    if not batch:
        return 0
    with transaction.atomic():
        count = connection.send_messages(batch)
    batch.clear()
    return count


def manage_url(registration: Registration, base_url: str) -> str:
    """The participant's signed link to see, confirm or cancel their registration."""
    path = reverse("events:registration_manage", args=[cancel_signature(registration)])
    return f"{base_url.rstrip('/')}{path}"


def _when(event: Event) -> str:
    return date_format(timezone.localtime(event.start), "l j F Y à H\\hi")


# --- Reminders ------------------------------------------------------------------------------------------


def reminders_send(*, now: datetime | None = None, base_url: str = "") -> int:
    """Email each confirmed participant of the events starting within ``ESSAIM_EVENTS_REMINDER_DAYS`` days
    a reminder with the ``.ics`` and their cancellation link, once: ``BATCH_SIZE`` registrations at a time,
    their rows are locked and re-read (``reminded_at`` still empty), marked and their emails queued in the
    same transaction, so two runs never both send one (SQLite serialises writing transactions).

    Called by a periodic task; events whose reminder is off, cancelled or not published are skipped.
    Returns the number of reminders queued.
    """
    now = now or timezone.now()
    days = settings.ESSAIM_EVENTS_REMINDER_DAYS
    if days <= 0:
        return 0
    events = Event.objects.filter(
        status=EventStatus.PUBLISHED,
        reminders_enabled=True,
        start__gt=now,
        start__lte=now + timedelta(days=days),
    ).select_related("commune")
    sent = 0
    for event in events:
        calendar = ics.calendar_bytes([event], base_url=base_url, name=event.title, method="PUBLISH")
        pending = (
            event.registrations.filter(
                status=RegistrationStatus.CONFIRMED, reminded_at__isnull=True, anonymised_at__isnull=True
            )
            .exclude(email="")
            .order_by("pk")
        )
        ids = list(pending.values_list("pk", flat=True))
        for start in range(0, len(ids), BATCH_SIZE):
            with transaction.atomic():
                batch = list(pending.select_for_update().filter(pk__in=ids[start : start + BATCH_SIZE]))
                Registration.objects.filter(pk__in=[r.pk for r in batch]).update(reminded_at=now)
                for registration in batch:
                    registration.event = event
                    _send_reminder(registration, calendar, base_url=base_url)
                sent += len(batch)
    if sent:
        log_action(actor=None, verb="events.reminders.sent", data={"count": sent})
    return sent


def _send_reminder(registration: Registration, calendar: bytes, *, base_url: str) -> None:
    event = registration.event
    where = ", ".join(
        p for p in (event.place_name, event.address, event.commune.name if event.commune_id else "") if p
    )
    body = (
        f"Bonjour {registration.full_name},\n\n"
        f"Nous vous rappelons votre inscription à « {event.title} », le {_when(event)}"
        f"{' (' + where + ')' if where else ''}.\n"
        f"{'Lien de connexion : ' + event.online_url + chr(10) if event.online_url else ''}"
        "L'événement est en pièce jointe pour l'ajouter à votre agenda.\n\n"
        "Vous ne pouvez plus venir ? Libérez votre place pour une personne en liste d'attente : "
        f"{manage_url(registration, base_url)}\n"
    )
    message = EmailMessage(subject=f"Rappel : {event.title}", body=body, to=[registration.email])
    message.attach("evenement.ics", calendar, "text/calendar")
    message.send()
