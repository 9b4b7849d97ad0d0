"""Writes on events and registrations. Every business action goes to the audit log.

No overbooking, ever: every write that may take a place (registering, confirming an offered place, promoting
from the waiting list) first locks the event row (``select_for_update``; on SQLite the project's IMMEDIATE
transactions serialise writers), then counts the places held *inside* that lock. Two requests for the last
place therefore run one after the other: the second one sees the first one's row and goes to the waiting
list.
"""

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify

from essaim.actors.models import Structure
from essaim.core.audit import log_action
from essaim.core.text import normalize
from essaim.events import ics, questions
from essaim.events.models import (
    EVENT_TRANSITIONS,
    HOLDING_STATUSES,
    Attendance,
    Event,
    EventStatus,
    EventStructure,
    ParticipantCategory,
    PaymentStatus,
    Programme,
    Registration,
    RegistrationStatus,
    Session,
    StructureRole,
)

EVENT_FIELDS = (
    "programme",
    "title",
    "description",
    "kind",
    "place_name",
    "address",
    "commune",
    "latitude",
    "longitude",
    "online_url",
    "start",
    "end",
    "accessibility",
    "visibility",
    "registration_open",
    "registration_opens_at",
    "registration_closes_at",
    "capacity",
    "promotion_hours",
    "narrative",
    "reminders_enabled",
)
ROLE_ARGUMENTS = {
    "organisers": StructureRole.ORGANISER,
    "co_organisers": StructureRole.CO_ORGANISER,
    "supporters": StructureRole.SUPPORTER,
    "funders": StructureRole.FUNDER,
}
CANCEL_SALT = "essaim.events.registration"
# A registration's foreign keys: the service receives them as instances, so validating them would only
# query the database again for rows it has just read.
RELATED_FIELDS = ("event", "category", "structure", "commune", "user", "registered_by")


# --- Events ---------------------------------------------------------------------------------------------


def _unique_slug(model, text: str, *, exclude_pk=None) -> str:
    base = slugify(text)[:100] or "evenement"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def _check_event(event: Event) -> None:
    """Validate the fields and the model's constraints; raises ValidationError with French messages."""
    event.full_clean(exclude=["slug", "search_title", "created_by"])
    if not event.online_url and not (event.address or event.commune_id or event.place_name):
        raise ValidationError(
            {"commune": "Indiquez un lieu (adresse ou commune) ou un lien de visioconférence."}
        )


def _set_structures(event: Event, roles: dict[str, Iterable[Structure] | None]) -> None:
    for argument, role in ROLE_ARGUMENTS.items():
        structures = roles.get(argument)
        if structures is None:
            continue
        wanted = {structure.pk for structure in structures}
        EventStructure.objects.filter(event=event, role=role).exclude(structure_id__in=wanted).delete()
        existing = set(
            EventStructure.objects.filter(event=event, role=role).values_list("structure_id", flat=True)
        )
        EventStructure.objects.bulk_create(
            [EventStructure(event=event, structure_id=pk, role=role) for pk in wanted - existing]
        )


@transaction.atomic
def event_create(
    *,
    actor,
    title: str,
    start: datetime,
    end: datetime,
    status: str = EventStatus.DRAFT,
    themes: Iterable | None = None,
    organisers: Iterable[Structure] | None = None,
    co_organisers: Iterable[Structure] | None = None,
    supporters: Iterable[Structure] | None = None,
    funders: Iterable[Structure] | None = None,
    slug: str = "",
    **fields,
) -> Event:
    """Create an event (a draft unless ``status`` says otherwise) with its structures and themes.

    Raises ValidationError (French messages) for a missing title, an end before the start, no place, an
    unknown field. Permission is checked by the caller (see ``events.access``).
    """
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    if status not in EventStatus.values:
        raise ValidationError({"status": "État inconnu."})
    event = Event(
        title=(title or "").strip(), start=start, end=end, status=status, created_by=actor, **fields
    )
    _check_event(event)
    event.slug = slug or _unique_slug(Event, f"{event.title} {timezone.localtime(start):%Y-%m-%d}")
    event.search_title = normalize(event.title)
    event.save()
    if themes is not None:
        event.themes.set(themes)
    _set_structures(
        event,
        {
            "organisers": organisers,
            "co_organisers": co_organisers,
            "supporters": supporters,
            "funders": funders,
        },
    )
    log_action(actor=actor, verb="events.event.created", obj=event, data={"status": status})
    return event


@transaction.atomic
def event_update(
    *,
    event: Event,
    actor,
    themes: Iterable | None = None,
    organisers: Iterable[Structure] | None = None,
    co_organisers: Iterable[Structure] | None = None,
    supporters: Iterable[Structure] | None = None,
    funders: Iterable[Structure] | None = None,
    base_url: str = "",
    **fields,
) -> Event:
    """Change the given fields of ``event`` (status has its own service); a larger capacity offers the new
    places to the waiting list (``base_url`` makes the emails' links absolute). Raises ValidationError."""
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    event = Event.objects.select_for_update().get(pk=event.pk)
    changed = [name for name, value in fields.items() if getattr(event, name) != value]
    for name, value in fields.items():
        setattr(event, name, value.strip() if isinstance(value, str) else value)
    _check_event(event)
    if "title" in changed:
        event.search_title = normalize(event.title)
        changed.append("search_title")
    if changed:
        event.save(update_fields=[*changed, "updated_at"])
    if "capacity" in changed:
        # More places: offer them to the waiting list at once (the event row is locked above).
        _promote(event, now=timezone.now(), base_url=base_url)
    if themes is not None:
        event.themes.set(themes)
    _set_structures(
        event,
        {
            "organisers": organisers,
            "co_organisers": co_organisers,
            "supporters": supporters,
            "funders": funders,
        },
    )
    log_action(actor=actor, verb="events.event.updated", obj=event, data={"fields": sorted(changed)})
    return event


@transaction.atomic
def event_set_status(*, event: Event, status: str, actor) -> Event:
    """Move ``event`` along an allowed transition (see EVENT_TRANSITIONS) under a row lock, and log it.

    Setting the current status again is a no-op. Raises ValidationError for a forbidden transition.
    """
    if status not in EventStatus.values:
        raise ValidationError({"status": "État inconnu."})
    previous = Event.objects.select_for_update().values_list("status", flat=True).get(pk=event.pk)
    event.status = previous
    if status == previous:
        return event
    if status not in EVENT_TRANSITIONS[previous]:
        raise ValidationError(
            {
                "status": f"Passage impossible de l'état « {EventStatus(previous).label} » "
                f"à l'état « {EventStatus(status).label} »."
            }
        )
    event.status = status
    event.save(update_fields=["status", "updated_at"])
    log_action(
        actor=actor, verb="events.event.status_changed", obj=event, data={"from": previous, "to": status}
    )
    return event


def event_submit(*, event: Event, actor) -> Event:
    """An actor's proposal goes to the facilitators' review."""
    return event_set_status(event=event, status=EventStatus.PENDING, actor=actor)


def event_publish(*, event: Event, actor) -> Event:
    return event_set_status(event=event, status=EventStatus.PUBLISHED, actor=actor)


def event_cancel(*, event: Event, actor) -> Event:
    return event_set_status(event=event, status=EventStatus.CANCELLED, actor=actor)


def event_archive(*, event: Event, actor) -> Event:
    return event_set_status(event=event, status=EventStatus.ARCHIVED, actor=actor)


@transaction.atomic
def programme_save(*, title: str, slug: str = "", description: str = "", actor) -> Programme:
    """Create (or update, by slug) a programme. Raises ValidationError for an empty title."""
    slug = slug or _unique_slug(Programme, title)
    programme, created = Programme.objects.get_or_create(slug=slug, defaults={"title": title.strip()})
    programme.title = title.strip()
    programme.description = description
    programme.full_clean()
    programme.save()
    log_action(actor=actor, verb="events.programme.saved", obj=programme, data={"created": created})
    return programme


@transaction.atomic
def session_add(
    *, event: Event, title: str, start: datetime, end: datetime, capacity: int | None = None, description=""
) -> Session:
    """Add a session (parallel workshop or visit) to ``event``. Raises ValidationError."""
    session = Session(event=event, title=title.strip(), start=start, end=end, capacity=capacity)
    session.description = description
    session.full_clean()
    session.save()
    return session


@transaction.atomic
def category_add(
    *, event: Event, label: str, quota: int | None = None, price_cents: int = 0, position: int = 0
) -> ParticipantCategory:
    """Add a participant category (with optional quota and price) to ``event``. Raises ValidationError."""
    category = ParticipantCategory(
        event=event, label=label.strip(), quota=quota, price_cents=price_cents, position=position
    )
    category.full_clean()
    category.save()
    return category


@transaction.atomic
def event_set_narrative(*, event: Event, narrative: str, actor) -> Event:
    event.narrative = narrative.strip()
    event.save(update_fields=["narrative", "updated_at"])
    log_action(actor=actor, verb="events.event.narrative_changed", obj=event)
    return event


# --- Registration ---------------------------------------------------------------------------------------


def registration_is_open(event: Event, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (
        event.status == EventStatus.PUBLISHED
        and event.registration_open
        and event.end >= now
        and (event.registration_opens_at is None or event.registration_opens_at <= now)
        and (event.registration_closes_at is None or now <= event.registration_closes_at)
    )


def _has_room(
    event: Event, category: ParticipantCategory | None, sessions: list[Session], *, held: int | None = None
) -> bool:
    """Whether one more person of ``category`` fits in ``event`` and each of ``sessions``.

    Must run inside the event's row lock: it counts the places held now (``held``: the event's count, when
    the caller has just made it under the same lock).
    """
    holding = Registration.objects.filter(event=event, status__in=HOLDING_STATUSES)
    if event.capacity is not None:
        if held is None:
            held = holding.count()
        if held >= event.capacity:
            return False
    if (
        category is not None
        and category.quota is not None
        and holding.filter(category=category).count() >= category.quota
    ):
        return False
    limited = [session for session in sessions if session.capacity is not None]
    if limited:
        counts = dict(
            Session.objects.filter(pk__in=[s.pk for s in limited])
            .annotate(held=Count("registrations", filter=Q(registrations__status__in=HOLDING_STATUSES)))
            .values_list("pk", "held")
        )
        if any(counts[session.pk] >= session.capacity for session in limited):
            return False
    return True


def _check_sessions(event: Event, sessions: list[Session]) -> None:
    slots = set()
    for session in sessions:
        if session.event_id != event.pk:
            raise ValidationError({"sessions": "Cette session n'appartient pas à l'événement."})
        if session.start in slots:
            raise ValidationError({"sessions": "Choisissez une seule session par créneau horaire."})
        slots.add(session.start)


def _payment_for(category: ParticipantCategory | None) -> str:
    return PaymentStatus.TO_PAY if category is not None and category.price_cents else PaymentStatus.NONE


def cancel_signature(registration: Registration) -> str:
    """The signed value of the participant's cancellation link (it also confirms an offered place)."""
    return signing.dumps(registration.token, salt=CANCEL_SALT)


def registration_from_signature(value: str) -> Registration | None:
    """The registration a signed link designates, or None for a forged or unknown link."""
    try:
        token = signing.loads(value, salt=CANCEL_SALT)
    except signing.BadSignature:
        return None
    return Registration.objects.select_related("event").filter(token=token).first()


def _manage_url(registration: Registration, base_url: str) -> str:
    path = reverse("events:registration_manage", args=[cancel_signature(registration)])
    return f"{base_url.rstrip('/')}{path}"


def _when(event: Event) -> str:
    start = timezone.localtime(event.start)
    return date_format(start, "l j F Y à H\\hi")


def _send(registration: Registration, subject: str, body: str, *, with_ics: bool, base_url: str) -> None:
    if not registration.email:
        return
    event = registration.event
    to = [registration.email]

    def send() -> None:
        # Built after commit: the .ics and the queueing of the email do not lengthen the event's lock.
        message = EmailMessage(subject=subject, body=body, to=to)
        if with_ics:
            message.attach(
                "evenement.ics",
                ics.calendar_bytes([event], base_url=base_url, name=event.title, method="PUBLISH"),
                "text/calendar",
            )
        message.send()

    transaction.on_commit(send)


def _notify(registration: Registration, *, base_url: str) -> None:
    """Email the participant about their registration's current status (after commit)."""
    event = registration.event
    manage = _manage_url(registration, base_url)
    where = ", ".join(
        p for p in (event.place_name, event.address, event.commune.name if event.commune_id else "") if p
    )
    header = f"Bonjour {registration.full_name},\n\n"
    footer = f"\n\nPour gérer ou annuler votre inscription : {manage}\n"
    if registration.status == RegistrationStatus.CONFIRMED:
        body = (
            f"{header}Votre inscription à « {event.title} » ({_when(event)}"
            f"{', ' + where if where else ''}) est confirmée."
        )
        if registration.payment == PaymentStatus.TO_PAY and registration.category is not None:
            body += f"\nFrais de participation : {registration.category.price_display}."
        body += "\nVous trouverez l'événement en pièce jointe pour l'ajouter à votre agenda."
        _send(
            registration,
            f"Inscription confirmée : {event.title}",
            body + footer,
            with_ics=True,
            base_url=base_url,
        )
    elif registration.status == RegistrationStatus.WAITING:
        body = (
            f"{header}« {event.title} » est complet : vous êtes inscrit·e sur la liste d'attente. "
            "Si une place se libère, nous vous l'écrirons."
        )
        _send(
            registration, f"Liste d'attente : {event.title}", body + footer, with_ics=False, base_url=base_url
        )
    elif registration.status == RegistrationStatus.OFFERED:
        deadline = date_format(timezone.localtime(registration.offer_expires_at), "l j F Y à H\\hi")
        body = (
            f"{header}Une place s'est libérée pour « {event.title} » ({_when(event)}). "
            f"Elle vous est réservée jusqu'au {deadline} : confirmez-la en suivant ce lien : {manage}"
        )
        _send(
            registration,
            f"Une place s'est libérée : {event.title}",
            body + footer,
            with_ics=False,
            base_url=base_url,
        )
    elif registration.status == RegistrationStatus.CANCELLED:
        body = f"{header}Votre inscription à « {event.title} » ({_when(event)}) est annulée."
        _send(
            registration,
            f"Inscription annulée : {event.title}",
            body + "\n",
            with_ics=False,
            base_url=base_url,
        )


def registration_create(
    *,
    event: Event,
    full_name: str,
    email: str = "",
    category: ParticipantCategory | None = None,
    sessions: Iterable[Session] = (),
    structure: Structure | None = None,
    structure_name: str = "",
    commune=None,
    is_elected: bool = False,
    user=None,
    actor=None,
    by_facilitator: bool = False,
    base_url: str = "",
    answers: dict | None = None,
    public_listing: bool = False,
) -> Registration:
    """Register a person to ``event``: confirmed if a place is free, else on the waiting list.

    A place is free when the event's total capacity, the category's quota and each chosen session's capacity
    all have room, counted under the event's row lock (no overbooking under concurrent requests).
    ``by_facilitator`` registers someone by phone or on paper (allowed while registration is closed).
    ``answers`` ({question id: value}) answer the event's custom questions (see ``events.questions``);
    ``public_listing`` is the person's opt-in to the public participant list.
    Raises ValidationError (French) when registration is closed, the email is already registered, the
    category or a session belongs to another event, or two sessions share a time slot.

    Atomic: what needs no lock is checked first, outside the transaction (on SQLite, BEGIN IMMEDIATE takes
    the database's write lock at once); the transaction then only locks the event, counts and writes. The
    emails are built and queued after commit.
    """
    sessions = list(sessions)
    _check_sessions(event, sessions)
    answers = questions.answers_clean(event=event, answers=answers, by_facilitator=by_facilitator)
    if category is not None and category.event_id != event.pk:
        raise ValidationError({"category": "Cette catégorie n'appartient pas à l'événement."})
    if category is None and event.categories.exists():
        raise ValidationError({"category": "Choisissez une catégorie de participant."})
    email = (email or "").strip().lower()
    if not by_facilitator and not email:
        raise ValidationError({"email": "L'adresse électronique est obligatoire."})
    full_name = (full_name or "").strip()
    registration = Registration(
        event=event,
        category=category,
        full_name=full_name,
        search_name=normalize(f"{full_name} {structure.name if structure else structure_name}"),
        email=email,
        structure=structure,
        structure_name="" if structure else structure_name.strip(),
        commune=commune,
        is_elected=is_elected,
        user=user,
        status=RegistrationStatus.WAITING,  # decided under the lock below
        payment=_payment_for(category),
        token=secrets.token_urlsafe(32),
        registered_by=actor if by_facilitator else None,
        public_listing=public_listing,
    )
    # Fields only: the related objects are given as instances, the status, payment and attendance come from
    # their enums, the email's uniqueness is checked under the lock (Django's validation of the model's
    # constraints costs one query each). The database's constraints still stand behind.
    registration.full_clean(
        exclude=["search_name", "token", *RELATED_FIELDS],
        validate_unique=False,
        validate_constraints=False,
    )
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event.pk)
        if not by_facilitator and not registration_is_open(event):
            raise ValidationError("Les inscriptions à cet événement sont fermées.")
        if event.status in (EventStatus.CANCELLED, EventStatus.ARCHIVED):
            raise ValidationError("Cet événement est annulé ou archivé : on ne peut plus s'y inscrire.")
        if (
            email
            and event.registrations.exclude(status=RegistrationStatus.CANCELLED).filter(email=email).exists()
        ):
            raise ValidationError({"email": "Cette adresse est déjà inscrite à cet événement."})
        registration.event = event
        registration.status = _status_for_newcomer(event, category, sessions, base_url=base_url)
        registration.save()
        if sessions:
            registration.sessions.add(*sessions)
        questions.answers_save(registration=registration, answers=answers)
        log_action(
            actor=actor,
            verb="events.registration.created",
            obj=registration,
            data={"event": event.pk, "status": registration.status, "by_facilitator": by_facilitator},
        )
        _notify(registration, base_url=base_url)
    return registration


def _status_for_newcomer(
    event: Event, category: ParticipantCategory | None, sessions: list[Session], *, base_url: str
) -> str:
    """Confirmed or waiting, for a new registration. Runs inside the event's row lock: one query counts the
    places held and the people waiting, which is all a full event needs."""
    counts = Registration.objects.filter(event=event).aggregate(
        held=Count("pk", filter=Q(status__in=HOLDING_STATUSES)),
        waiting=Count("pk", filter=Q(status=RegistrationStatus.WAITING)),
    )
    held = counts["held"]
    # People already waiting come first: a place freed by a larger capacity goes to them, not to newcomers.
    if counts["waiting"] and (event.capacity is None or held < event.capacity):
        held += len(_promote(event, now=timezone.now(), base_url=base_url, held=held))
    if _has_room(event, category, sessions, held=held):
        return RegistrationStatus.CONFIRMED
    return RegistrationStatus.WAITING


def _promote(event: Event, *, now: datetime, base_url: str, held: int | None = None) -> list[Registration]:
    """Offer the freed places to the waiting list, first come first served, skipping a person whose category
    or sessions are still full. Runs inside the event's row lock (``held``: the places held, if just
    counted under it)."""
    promoted = []
    if event.capacity is not None:
        if held is None:
            held = event.registrations.filter(status__in=HOLDING_STATUSES).count()
        if held >= event.capacity:
            return promoted  # full: the waiting list is not even read
    for waiting in event.registrations.waiting().select_related("category").prefetch_related("sessions"):
        if event.capacity is not None and held >= event.capacity:
            break
        if not _has_room(event, waiting.category, list(waiting.sessions.all()), held=held):
            continue
        waiting.status = RegistrationStatus.OFFERED
        waiting.offer_expires_at = now + timedelta(hours=event.promotion_hours)
        waiting.save(update_fields=["status", "offer_expires_at", "updated_at"])
        log_action(
            actor=None,
            verb="events.registration.promoted",
            obj=waiting,
            data={"event": event.pk, "expires_at": waiting.offer_expires_at.isoformat()},
        )
        _notify(waiting, base_url=base_url)
        promoted.append(waiting)
        if held is not None:
            held += 1
    return promoted


@transaction.atomic
def registration_cancel(*, registration: Registration, actor=None, base_url: str = "") -> Registration:
    """Cancel a registration (by the participant's link or by an organiser) and offer the freed place to the
    waiting list. Cancelling twice is a no-op. Raises ValidationError for a person checked in as present:
    the attendance sheet and the bilan count them (an organiser first takes the check-in back)."""
    event = Event.objects.select_for_update().get(pk=registration.event_id)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if registration.status == RegistrationStatus.CANCELLED:
        return registration
    if registration.attendance == Attendance.PRESENT:
        raise ValidationError(
            "Cette inscription a été pointée présente : elle ne peut plus être annulée "
            "(l'équipe organisatrice peut d'abord retirer la présence sur la feuille de pointage)."
        )
    previous = registration.status
    registration.status = RegistrationStatus.CANCELLED
    registration.offer_expires_at = None
    registration.save(update_fields=["status", "offer_expires_at", "updated_at"])
    log_action(actor=actor, verb="events.registration.cancelled", obj=registration, data={"from": previous})
    _notify(registration, base_url=base_url)
    if previous in HOLDING_STATUSES:
        _promote(event, now=timezone.now(), base_url=base_url)
    return registration


@transaction.atomic
def registration_confirm_offer(*, registration: Registration, actor=None, base_url: str = "") -> Registration:
    """The promoted person confirms the place offered to them before it expires.

    Raises ValidationError when there is no offer or it has expired (the place went to the next person).
    """
    Event.objects.select_for_update().get(pk=registration.event_id)
    registration = Registration.objects.select_for_update().select_related("event").get(pk=registration.pk)
    if registration.status == RegistrationStatus.CONFIRMED:
        return registration
    if registration.status != RegistrationStatus.OFFERED or registration.offer_expires_at < timezone.now():
        raise ValidationError("Aucune place ne vous est réservée, ou le délai pour la confirmer est dépassé.")
    registration.status = RegistrationStatus.CONFIRMED
    registration.offer_expires_at = None
    registration.save(update_fields=["status", "offer_expires_at", "updated_at"])
    log_action(actor=actor, verb="events.registration.offer_confirmed", obj=registration)
    _notify(registration, base_url=base_url)
    return registration


def offers_expire(*, now: datetime | None = None, base_url: str = "") -> int:
    """Cancel the offered places not confirmed in time and pass them to the next people waiting.

    Called by a periodic task. Returns the number of expired offers. Each event is handled in its own
    transaction under its row lock.
    """
    now = now or timezone.now()
    expired = 0
    event_ids = set(
        Registration.objects.filter(status=RegistrationStatus.OFFERED, offer_expires_at__lt=now).values_list(
            "event_id", flat=True
        )
    )
    for event_id in sorted(event_ids):
        with transaction.atomic():
            event = Event.objects.select_for_update().get(pk=event_id)
            stale = list(
                event.registrations.select_for_update().filter(
                    status=RegistrationStatus.OFFERED, offer_expires_at__lt=now
                )
            )
            for registration in stale:
                registration.status = RegistrationStatus.CANCELLED
                registration.offer_expires_at = None
                registration.save(update_fields=["status", "offer_expires_at", "updated_at"])
                log_action(actor=None, verb="events.registration.offer_expired", obj=registration)
            expired += len(stale)
            _promote(event, now=now, base_url=base_url)
    return expired


# --- Attendance and payment -----------------------------------------------------------------------------


@transaction.atomic
def registration_set_attendance(*, registration: Registration, attendance: str, actor) -> Registration:
    """Record present / absent / excused (or back to not checked). Raises ValidationError for an unknown
    value or a registration that holds no place."""
    if attendance not in Attendance.values:
        raise ValidationError({"attendance": "État de présence inconnu."})
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if registration.status != RegistrationStatus.CONFIRMED and attendance == Attendance.PRESENT:
        raise ValidationError("Seule une inscription confirmée peut être pointée présente.")
    previous = registration.attendance
    if previous != attendance:
        registration.attendance = attendance
        registration.save(update_fields=["attendance", "updated_at"])
        log_action(
            actor=actor,
            verb="events.registration.checked_in",
            obj=registration,
            data={"from": previous, "to": attendance},
        )
    return registration


@transaction.atomic
def registration_walk_in(
    *,
    event: Event,
    full_name: str,
    actor,
    category: ParticipantCategory | None = None,
    structure: Structure | None = None,
    structure_name: str = "",
    email: str = "",
    is_elected: bool = False,
    commune=None,
) -> Registration:
    """Record a person who came without registering: confirmed and present. They are in the room already,
    so capacity does not apply. Raises ValidationError for an empty name."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    if category is not None and category.event_id != event.pk:
        raise ValidationError({"category": "Cette catégorie n'appartient pas à l'événement."})
    full_name = (full_name or "").strip()
    email = (email or "").strip().lower()
    if (
        email
        and event.registrations.exclude(status=RegistrationStatus.CANCELLED).filter(email=email).exists()
    ):
        raise ValidationError({"email": "Cette adresse est déjà inscrite à cet événement."})
    registration = Registration(
        event=event,
        category=category,
        full_name=full_name,
        search_name=normalize(f"{full_name} {structure.name if structure else structure_name}"),
        email=email,
        structure=structure,
        structure_name="" if structure else structure_name.strip(),
        commune=commune,
        is_elected=is_elected,
        status=RegistrationStatus.CONFIRMED,
        attendance=Attendance.PRESENT,
        payment=_payment_for(category),
        is_walk_in=True,
        token=secrets.token_urlsafe(32),
        registered_by=actor,
    )
    registration.full_clean(exclude=["search_name", "token"])
    registration.save()
    log_action(actor=actor, verb="events.registration.walk_in", obj=registration, data={"event": event.pk})
    return registration


@transaction.atomic
def registration_set_payment(*, registration: Registration, payment: str, actor) -> Registration:
    if payment not in PaymentStatus.values:
        raise ValidationError({"payment": "État de paiement inconnu."})
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    previous = registration.payment
    if previous != payment:
        registration.payment = payment
        registration.save(update_fields=["payment", "updated_at"])
        log_action(
            actor=actor,
            verb="events.registration.payment_changed",
            obj=registration,
            data={"from": previous, "to": payment},
        )
    return registration
