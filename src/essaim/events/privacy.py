"""Participants' personal data: anonymisation (retention purge, deletion on request) and export.

Anonymising a registration wipes what identifies the person — name, email, account, free-text answers, the
signed link's token — and keeps what the report counts: status, category, attendance, payment, structure,
commune, elected flag, and choice answers (detached from the registration). The report ("bilan") of an
event therefore gives exactly the same figures before and after.
"""

import calendar
import csv
import io
import json
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from essaim.actors.exports import neutralize_formula
from essaim.core.audit import log_action
from essaim.core.models import AuditLogEntry
from essaim.events import services
from essaim.events.models import (
    CHOICE_KINDS,
    HOLDING_STATUSES,
    Answer,
    Attendance,
    Event,
    QuestionKind,
    Registration,
    RegistrationStatus,
)

ANONYMOUS_NAME = "Personne anonymisée"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` minus ``months`` calendar months (the 31st becomes the month's last day)."""
    years, month_index = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + years, month_index + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def registrations_anonymise(registrations, *, now: datetime | None = None) -> int:
    """Anonymise the given registrations (a QuerySet) that are not anonymised yet; returns how many were.

    Runs in the caller's transaction (bulk updates: the purge handles thousands of rows at once).
    """
    now = now or timezone.now()
    targets = registrations.filter(anonymised_at__isnull=True)
    ids = list(targets.values_list("pk", flat=True))
    if not ids:
        return 0
    # Exactly the answers the tally counts (see ``questions.question_tallies``); the others go.
    kept = Q(question__kind__in=(*CHOICE_KINDS, QuestionKind.YES_NO)) & Q(
        registration__status__in=HOLDING_STATUSES, registration__is_walk_in=False
    )
    answers = Answer.objects.filter(registration_id__in=ids)
    answers.exclude(kept).delete()
    # Choice answers stay counted in the report, without the registration they came from.
    Answer.objects.filter(registration_id__in=ids).update(registration=None)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        Registration.objects.filter(pk__in=chunk).update(
            full_name=ANONYMOUS_NAME,
            search_name="",
            email="",
            user=None,
            public_listing=False,
            # The signed links designate the token: a new one, unique and unguessable-free, kills them.
            token=Concat(Value("anonyme-"), Cast("pk", output_field=CharField())),
            anonymised_at=now,
            updated_at=now,
        )
        # The audit log names its objects: the registrations' entries must not keep the person's name.
        AuditLogEntry.objects.filter(
            object_type="events.registration", object_id__in=[str(pk) for pk in chunk]
        ).update(object_repr=ANONYMOUS_NAME)
    return len(ids)


def events_retention_purge(*, now: datetime | None = None) -> int:
    """Anonymise the participants of events that ended more than ``ESSAIM_EVENTS_RETENTION_MONTHS`` months
    ago (0 or less disables it: a misconfiguration must never erase everything). One transaction per event;
    returns the number of registrations anonymised. Called daily by a periodic task."""
    now = now or timezone.now()
    months = settings.ESSAIM_EVENTS_RETENTION_MONTHS
    if months <= 0:
        return 0
    cutoff = months_before(now, months)
    event_ids = (
        Registration.objects.filter(event__end__lt=cutoff, anonymised_at__isnull=True)
        .values_list("event_id", flat=True)
        .distinct()
    )
    total = 0
    for event_id in sorted(set(event_ids)):
        with transaction.atomic():
            count = registrations_anonymise(Registration.objects.filter(event_id=event_id), now=now)
            log_action(
                actor=None,
                verb="events.registrations.purged",
                obj=Event.objects.get(pk=event_id),
                data={"count": count, "months": months},
            )
        total += count
    return total


# --- A person's own data ---------------------------------------------------------------------------------


def person_registrations(*, user=None, email: str = ""):
    """The registrations (not anonymised) made from a signed-in ``user``'s account, or made with ``email``
    (the address a signed link was sent to, which proves control of it).

    An account's address is not matched: sign-up does not verify addresses, so anybody could open an account
    in someone else's name and read or delete their registrations.
    """
    condition = Q()
    if user is not None and user.is_authenticated:
        condition |= Q(user=user)
    if email:
        condition |= Q(email=email.strip().lower())
    if not condition:
        return Registration.objects.none()
    return (
        Registration.objects.filter(condition, anonymised_at__isnull=True)
        .select_related("event", "category", "structure", "commune")
        .prefetch_related("sessions", "answers__question")
        .order_by("-event__start", "pk")
    )


def _row(registration: Registration) -> dict:
    event = registration.event
    return {
        "evenement": event.title,
        "debut": timezone.localtime(event.start).isoformat(),
        "fin": timezone.localtime(event.end).isoformat(),
        "nom": registration.full_name,
        "courriel": registration.email,
        "etat": registration.get_status_display(),
        "categorie": registration.category.label if registration.category_id else "",
        "structure": registration.structure_display,
        "commune": registration.commune.name if registration.commune_id else "",
        "elu": registration.is_elected,
        "paiement": registration.get_payment_display(),
        "presence": registration.get_attendance_display(),
        "liste_publique": registration.public_listing,
        "sessions": [session.title for session in registration.sessions.all()],
        "reponses": {answer.question.label: answer.values for answer in registration.answers.all()},
        "inscrit_le": timezone.localtime(registration.created_at).isoformat(),
    }


def registrations_export_json(registrations) -> bytes:
    """A person's registrations as a JSON document (UTF-8, French keys)."""
    data = {
        "exporte_le": timezone.localtime().isoformat(),
        "inscriptions": [_row(r) for r in registrations],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def registrations_export_csv(registrations) -> bytes:
    """A person's registrations as CSV (``;``, UTF-8 with BOM for spreadsheets), one line per registration."""
    rows = [_row(r) for r in registrations]
    buffer = io.StringIO()
    header = [
        "evenement",
        "debut",
        "fin",
        "nom",
        "courriel",
        "etat",
        "categorie",
        "structure",
        "commune",
        "elu",
        "paiement",
        "presence",
        "liste_publique",
        "sessions",
        "reponses",
        "inscrit_le",
    ]
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        row["elu"] = "oui" if row["elu"] else "non"
        row["liste_publique"] = "oui" if row["liste_publique"] else "non"
        row["sessions"] = ", ".join(row["sessions"])
        row["reponses"] = " | ".join(
            f"{label} : {', '.join(values)}" for label, values in row["reponses"].items()
        )
        writer.writerow([neutralize_formula(row[name]) for name in header])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# The link that covers every registration of an address is sent to that address on request, and lives a
# day: the link of one registration (in its emails, which get forwarded) only covers that registration.
EMAIL_DATA_SALT = "essaim.events.email-data"
EMAIL_DATA_MAX_AGE = 24 * 3600


def email_data_signature(registration: Registration) -> str:
    """The signed, timestamped value of a link to every registration made with ``registration``'s address
    (the registration's random token, not the address, which would be readable in the link)."""
    return signing.dumps(registration.token, salt=EMAIL_DATA_SALT)


def email_from_data_signature(value: str) -> str | None:
    """The address of a link made by ``email_data_signature``, or None when forged, older than a day, or
    when its registration has been anonymised since."""
    try:
        token = signing.loads(value, salt=EMAIL_DATA_SALT, max_age=EMAIL_DATA_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return None
    registration = Registration.objects.filter(token=token, anonymised_at__isnull=True).first()
    return registration.email if registration is not None and registration.email else None


def email_data_link_send(*, registration: Registration, base_url: str) -> bool:
    """Email ``registration``'s address a link to every registration made with it (after commit); False
    when the registration has no address."""
    email = registration.email
    if not email:
        return False
    path = reverse("events:email_data", args=[email_data_signature(registration)])
    body = (
        "Bonjour,\n\nVous avez demandé à voir les données de toutes les inscriptions aux événements faites "
        f"avec l'adresse {email}. Ce lien est valable 24 heures :\n{base_url.rstrip('/')}{path}\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n"
    )
    log_action(actor=None, verb="events.registrations.email_link_sent", obj=registration)
    transaction.on_commit(
        lambda: EmailMessage(subject="Vos inscriptions aux événements", body=body, to=[email]).send()
    )
    return True


@transaction.atomic
def person_data_delete(*, registrations, actor=None, base_url: str = "") -> dict[str, int]:
    """A person deletes their registrations: those of events not over yet are cancelled first (the place goes
    to the waiting list; not when they were checked in as present, which the bilan counts), then every one
    is anonymised. Returns {"cancelled": n, "anonymised": n}."""
    now = timezone.now()
    registrations = list(registrations.filter(anonymised_at__isnull=True).select_related("event"))
    cancelled = 0
    for registration in registrations:
        if (
            registration.event.end >= now
            and registration.status != RegistrationStatus.CANCELLED
            and registration.attendance != Attendance.PRESENT
        ):
            try:
                services.registration_cancel(registration=registration, actor=actor, base_url=base_url)
            except ValidationError:
                continue  # checked in as present meanwhile: the bilan counts them, the data is still wiped
            cancelled += 1
    ids = [registration.pk for registration in registrations]
    for registration in registrations:
        log_action(
            actor=actor,
            verb="events.registration.deleted_by_person",
            obj=registration,
            data={"event": registration.event_id},
        )
    anonymised = registrations_anonymise(Registration.objects.filter(pk__in=ids), now=now)
    return {"cancelled": cancelled, "anonymised": anonymised}
