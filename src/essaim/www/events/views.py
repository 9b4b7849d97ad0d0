"""The agenda: public list, event and programme pages, proposal and edition, registration, participants,
check-in, attendance sheet, report, calendar feeds. Writes go through ``essaim.events.services``."""

import json
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from essaim.actors.models import Structure
from essaim.core.access import deny_unless, get_object_or_404_for
from essaim.core.site import request_site_url
from essaim.events import ics, services
from essaim.events.access import (
    event_can_edit,
    event_can_manage_participants,
    event_can_moderate,
    event_can_propose,
    event_can_view,
)
from essaim.events.exports import (
    CSV_CONTENT_TYPE,
    PDF_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    attendance_sheet_pdf,
    report_csv,
    report_pdf,
    report_xlsx,
)
from essaim.events.models import (
    ORGANISING_ROLES,
    Attendance,
    Event,
    EventStatus,
    EventStructure,
    PaymentStatus,
    Programme,
    Registration,
    RegistrationStatus,
    Visibility,
)
from essaim.events.reports import event_report, programme_report
from essaim.www.events.forms import (
    CheckInSearchForm,
    EventForm,
    NarrativeForm,
    PaymentForm,
    RegistrationForm,
    WalkInForm,
)

PAGE_SIZE = 20
FEED_LIMIT = 1000


def _listed_events(user):
    """Events a visitor may find in the agenda: public ones, plus members-only ones for signed-in accounts."""
    events = Event.objects.published()
    if not (getattr(user, "is_authenticated", False) and user.is_active):
        events = events.filter(visibility=Visibility.PUBLIC)
    return events


def _organisers():
    """Structures organising an event, for the filter's choices (their name and slug only)."""
    organising = EventStructure.objects.filter(role__in=ORGANISING_ROLES).values("structure_id")
    return Structure.objects.filter(pk__in=organising).only("name", "slug").order_by("name")


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@vary_on_headers("HX-Request")
@require_GET
def event_list(request):
    """Upcoming published events, filtered by territory, theme, kind, organiser, dates and title words.

    HTMX requests get the results fragment only.
    """
    from essaim.www.events.public import (  # public.py imports this module
        agenda_filters,
        filter_events,
        in_window,
    )

    agenda = agenda_filters(request)
    filters = agenda.cleaned
    events = filter_events(in_window(_listed_events(request.user), filters), agenda)
    # No filter can list an event twice (subqueries, or joins on unique slugs): no DISTINCT, which made the
    # paginator's count compare every column of every event.
    events = events.select_related("commune", "programme").order_by("start", "pk")
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = agenda.form.data.copy()  # the query string, with the default territory made explicit
    query.pop("page", None)
    past = None
    if not (filters.get("du") or filters.get("au")):
        # Without dates the agenda shows what is to come; past events (and their reports) stay one link away.
        past_query = query.copy()
        past_query["au"] = timezone.localdate().isoformat()
        past = past_query.urlencode()
    context = {
        "form": agenda.form,
        "page": page,
        "query": query.urlencode(),
        "past_query": past,
        "perimeter": agenda.perimeter,
        "can_propose": event_can_propose(request.user),
        "can_moderate": event_can_moderate(request.user),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "events/_event_results.html", context)
    return render(request, "events/event_list.html", context)


def _json_ld(event: Event, request) -> str:
    """schema.org ``Event`` as a JSON-LD script element (a data block: CSP does not run it)."""
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "startDate": timezone.localtime(event.start).isoformat(),
        "endDate": timezone.localtime(event.end).isoformat(),
        "url": request.build_absolute_uri(reverse("events:detail", args=[event.slug])),
        "eventStatus": "https://schema.org/EventCancelled"
        if event.status == EventStatus.CANCELLED
        else "https://schema.org/EventScheduled",
    }
    if event.description:
        data["description"] = event.description[:1000]
    if event.is_online:
        data["eventAttendanceMode"] = "https://schema.org/OnlineEventAttendanceMode"
        data["location"] = {"@type": "VirtualLocation", "url": event.online_url}
    else:
        data["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
        address = {"@type": "PostalAddress", "addressCountry": "FR"}
        if event.address:
            address["streetAddress"] = event.address
        if event.commune_id:
            address["addressLocality"] = event.commune.name
        place = {
            "@type": "Place",
            "name": event.place_name or address.get("addressLocality", ""),
            "address": address,
        }
        if event.point:
            place["geo"] = {
                "@type": "GeoCoordinates",
                "latitude": event.point[0],
                "longitude": event.point[1],
            }
        data["location"] = place
    organisers = [link.structure for link in event.structure_links.all() if link.role in ORGANISING_ROLES]
    if organisers:
        data["organizer"] = [{"@type": "Organization", "name": s.name} for s in organisers]
    prices = [c.price_cents for c in event.categories.all()]
    if prices:
        data["offers"] = [
            {"@type": "Offer", "name": c.label, "price": f"{c.price_cents / 100:.2f}", "priceCurrency": "EUR"}
            for c in event.categories.all()
        ]
        data["isAccessibleForFree"] = not any(prices)
    # The same escaping as Django's json_script: "<", ">" and "&" cannot close the element.
    text = json.dumps(data, ensure_ascii=False).translate(
        {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}
    )
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))  # noqa: S308


def _event_for_view(request, slug):
    return get_object_or_404_for(
        request.user,
        Event.objects.select_related("commune", "programme").prefetch_related(
            "themes", "structure_links__structure", "categories", "sessions"
        ),
        event_can_view,
        slug=slug,
    )


def event_detail(request, slug: str):
    """An event's page; 404 for an event the user may not see."""
    event = _event_for_view(request, slug)
    links = list(event.structure_links.all())
    can_manage = event_can_manage_participants(request.user, event)
    context = {
        "event": event,
        "organisers": [link.structure for link in links if link.role in ORGANISING_ROLES],
        "partners": [link for link in links if link.role not in ORGANISING_ROLES],
        "registration_open": services.registration_is_open(event),
        "is_full": event.capacity is not None and event.registrations.holding().count() >= event.capacity,
        "can_edit": event_can_edit(request.user, event),
        "can_moderate": event_can_moderate(request.user),
        "can_manage": can_manage,
        "json_ld": _json_ld(event, request) if event.status == EventStatus.PUBLISHED else "",
        # Participatory workshops held during the event (those in preparation stay with their facilitator).
        "consultations": list(event.consultations.public().order_by("title")),
    }
    if can_manage:
        context["counts"] = event.registrations.aggregate(
            confirmed=Count("pk", filter=Q(status=RegistrationStatus.CONFIRMED)),
            offered=Count("pk", filter=Q(status=RegistrationStatus.OFFERED)),
            waiting=Count("pk", filter=Q(status=RegistrationStatus.WAITING)),
            present=Count("pk", filter=Q(attendance=Attendance.PRESENT)),
        )
    return render(request, "events/event_detail.html", context)


def programme_detail(request, slug: str):
    programme = get_object_or_404(Programme, slug=slug)
    events = (
        _listed_events(request.user)
        .filter(programme=programme)
        .select_related("commune")
        .order_by("start", "pk")
    )
    return render(
        request,
        "events/programme_detail.html",
        {"programme": programme, "events": events, "can_moderate": event_can_moderate(request.user)},
    )


# --- Proposal, edition, moderation ------------------------------------------------------------------------


@login_required
def event_create(request):
    """Any signed-in account proposes an event (sent for review); facilitators may publish it at once."""
    deny_unless(event_can_propose(request.user))
    can_moderate = event_can_moderate(request.user)
    form = EventForm(request.POST or None, can_moderate=can_moderate)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(actor=request.user, **form.service_arguments())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if not can_moderate:
                services.event_submit(event=event, actor=request.user)
                messages.success(request, "Merci : votre proposition sera relue par l'équipe d'animation.")
            else:
                messages.success(request, "Événement créé (brouillon). Publiez-le quand il est prêt.")
            return redirect("events:detail", slug=event.slug)
    return render(request, "events/event_form.html", {"form": form, "event": None})


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
def event_edit(request, slug: str):
    event = get_object_or_404_for(request.user, Event, event_can_edit, slug=slug)
    form = EventForm(request.POST or None, instance=event, can_moderate=event_can_moderate(request.user))
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        try:
            # ModelForm validation wrote the values on the instance already: start from the stored row.
            services.event_update(
                event=Event.objects.get(pk=event.pk),
                actor=request.user,
                base_url=request_site_url(request),
                **arguments,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Événement enregistré.")
            return redirect("events:detail", slug=event.slug)
    return render(request, "events/event_form.html", {"form": form, "event": event})


STATUS_ACTIONS = {
    "submit": (services.event_submit, "Proposition envoyée pour relecture."),
    "publish": (services.event_publish, "Événement publié."),
    "cancel": (services.event_cancel, "Événement annulé."),
    "archive": (services.event_archive, "Événement archivé."),
}


@require_POST
@login_required
def event_status(request, slug: str):
    """Moderation actions: the author submits; facilitators publish, cancel and archive."""
    event = get_object_or_404_for(request.user, Event, event_can_edit, slug=slug)
    action = request.POST.get("action", "")
    if action not in STATUS_ACTIONS:
        raise Http404("Action inconnue.")
    deny_unless(action == "submit" or event_can_moderate(request.user))
    service, message = STATUS_ACTIONS[action]
    try:
        service(event=event, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, message)
    return redirect("events:detail", slug=event.slug)


# --- Registration -----------------------------------------------------------------------------------------


def register(request, slug: str):
    """Registration form: confirmed when a place is free, waiting list otherwise."""
    event = _event_for_view(request, slug)
    if not services.registration_is_open(event):
        return render(request, "events/register_closed.html", {"event": event}, status=200)
    initial = {}
    if request.user.is_authenticated:
        initial = {"full_name": request.user.full_name, "email": request.user.email}
    form = RegistrationForm(request.POST or None, event=event, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.registration_create(
                event=event,
                user=request.user if request.user.is_authenticated else None,
                actor=request.user,
                base_url=request_site_url(request),
                **form.service_arguments(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return render(
                request, "events/register_done.html", {"event": event, "registration": registration}
            )
    return render(request, "events/register.html", {"event": event, "form": form})


def registration_manage(request, signature: str):
    """The participant's own page (from the link in their emails): see, confirm an offered place, cancel."""
    registration = services.registration_from_signature(signature)
    if registration is None:
        raise Http404("Lien invalide.")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "cancel":
                services.registration_cancel(registration=registration, base_url=request_site_url(request))
                messages.success(request, "Votre inscription est annulée.")
            elif action == "confirm":
                services.registration_confirm_offer(
                    registration=registration, base_url=request_site_url(request)
                )
                messages.success(request, "Votre place est confirmée.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("events:registration_manage", signature=signature)
    registration.refresh_from_db()
    return render(
        request,
        "events/registration_manage.html",
        {"registration": registration, "event": registration.event},
    )


# --- Organisers: participants, check-in, attendance sheet, report ------------------------------------------


def _managed_event(request, slug: str) -> Event:
    return get_object_or_404_for(request.user, Event, event_can_manage_participants, slug=slug)


@login_required
def participants(request, slug: str):
    """The participant list and the form to register someone by phone or on paper."""
    event = _managed_event(request, slug)
    form = RegistrationForm(request.POST or None, event=event, by_facilitator=True)
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.registration_create(
                event=event,
                actor=request.user,
                by_facilitator=True,
                base_url=request_site_url(request),
                **form.service_arguments(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, f"{registration.full_name} : {registration.get_status_display().lower()}."
            )
            return redirect("events:participants", slug=event.slug)
    registrations = (
        event.registrations.select_related("category", "structure")
        .prefetch_related("answers__question")
        .order_by("full_name", "pk")
    )
    return render(
        request,
        "events/participants.html",
        {
            "event": event,
            "form": form,
            "registrations": registrations,
            "payment_choices": PaymentStatus.choices,
            "questions": form.questions,
        },
    )


@require_POST
@login_required
def participant_cancel(request, slug: str, pk: int):
    event = _managed_event(request, slug)
    registration = get_object_or_404(Registration, pk=pk, event=event)
    try:
        services.registration_cancel(
            registration=registration, actor=request.user, base_url=request_site_url(request)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Inscription de {registration.full_name} annulée.")
    return redirect("events:participants", slug=event.slug)


@require_POST
@login_required
def participant_payment(request, slug: str, pk: int):
    """Record how a participant paid (on site, cheque, transfer) or that they are exempt."""
    event = _managed_event(request, slug)
    registration = get_object_or_404(Registration, pk=pk, event=event)
    form = PaymentForm(request.POST)
    if form.is_valid():
        services.registration_set_payment(
            registration=registration, payment=form.cleaned_data["payment"], actor=request.user
        )
        messages.success(request, f"Paiement de {registration.full_name} enregistré.")
    else:
        messages.error(request, "État de paiement inconnu.")
    return redirect("events:participants", slug=event.slug)


@vary_on_headers("HX-Request")
@login_required
def checkin(request, slug: str):
    """Check-in screen for tablets: search by name, tick present / absent / excused, add walk-ins.

    One view, one partial: HTMX requests (search, ticks) get the list fragment only.
    """
    event = _managed_event(request, slug)
    walk_in_form = WalkInForm(event=event)
    if request.method == "POST":
        if request.POST.get("form") == "walk_in":
            walk_in_form = WalkInForm(request.POST, event=event)
            if walk_in_form.is_valid():
                data = walk_in_form.cleaned_data
                try:
                    services.registration_walk_in(
                        event=event,
                        actor=request.user,
                        full_name=data["full_name"],
                        structure_name=data.get("structure_name", ""),
                        category=data.get("category"),
                        is_elected=data.get("is_elected", False),
                    )
                except ValidationError as exc:
                    _add_errors(walk_in_form, exc)
                else:
                    messages.success(request, f"{data['full_name']} ajouté·e et pointé·e présent·e.")
                    return redirect("events:checkin", slug=event.slug)
        else:
            registration = get_object_or_404(
                Registration, pk=request.POST.get("registration", 0), event=event
            )
            try:
                services.registration_set_attendance(
                    registration=registration,
                    attendance=request.POST.get("attendance", ""),
                    actor=request.user,
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            if not request.htmx:
                query = urlencode({"q": request.POST.get("q", "")[:100]})
                return redirect(f"{reverse('events:checkin', args=[event.slug])}?{query}")
    search = CheckInSearchForm(request.GET or request.POST or None)
    registrations = event.registrations.confirmed().select_related("category", "structure")
    query = search.cleaned_data.get("q", "") if search.is_valid() else ""
    if query:
        registrations = registrations.search(query)
    counts = event.registrations.confirmed().aggregate(
        total=Count("pk"), present=Count("pk", filter=Q(attendance=Attendance.PRESENT))
    )
    context = {
        "event": event,
        "search": search,
        "query": query,
        "registrations": registrations.order_by("full_name", "pk"),
        "walk_in_form": walk_in_form,
        "counts": counts,
        "Attendance": Attendance,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "events/_checkin_list.html", context)
    return render(request, "events/checkin.html", context)


@login_required
def attendance_sheet(request, slug: str):
    """The printable "feuille d'émargement" (PDF) of the confirmed participants, sorted by name."""
    event = _managed_event(request, slug)
    registrations = list(
        event.registrations.confirmed().select_related("category", "structure").order_by("search_name", "pk")
    )
    response = HttpResponse(attendance_sheet_pdf(event, registrations), content_type=PDF_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="emargement-{event.slug}.pdf"'
    return response


REPORT_FORMATS = {
    "csv": (report_csv, CSV_CONTENT_TYPE),
    "xlsx": (report_xlsx, XLSX_CONTENT_TYPE),
    "pdf": (report_pdf, PDF_CONTENT_TYPE),
}


@login_required
def report(request, slug: str):
    """The event's report ("bilan") and the facilitator's narrative."""
    event = _managed_event(request, slug)
    form = NarrativeForm(request.POST or None, initial={"narrative": event.narrative})
    if request.method == "POST" and form.is_valid():
        services.event_set_narrative(
            event=event, narrative=form.cleaned_data["narrative"], actor=request.user
        )
        messages.success(request, "Bilan enregistré.")
        return redirect("events:report", slug=event.slug)
    return render(
        request, "events/report.html", {"event": event, "report": event_report(event), "form": form}
    )


@login_required
def report_export(request, slug: str, fmt: str):
    event = _managed_event(request, slug)
    build, content_type = REPORT_FORMATS[fmt]
    response = HttpResponse(build(event_report(event)), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="bilan-{event.slug}.{fmt}"'
    return response


@login_required
def programme_report_view(request, slug: str):
    """Totals of a whole programme (e.g. the Mois de l'ESS): facilitators only."""
    deny_unless(event_can_moderate(request.user))
    programme = get_object_or_404(Programme, slug=slug)
    fmt = request.GET.get("format", "")
    result = programme_report(programme)
    if fmt in REPORT_FORMATS:
        build, content_type = REPORT_FORMATS[fmt]
        response = HttpResponse(build(result), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="bilan-{programme.slug}.{fmt}"'
        return response
    return render(request, "events/programme_report.html", {"programme": programme, "report": result})


# --- Calendar feeds ---------------------------------------------------------------------------------------


def _ics_response(events, *, request, name: str, filename: str) -> HttpResponse:
    """The iCalendar document of ``events``, with an ETag: calendar apps poll feeds, and an unchanged feed
    is answered 304 Not Modified from the rows read, without building the document."""
    base_url = request_site_url(request)
    with ics.cyclic_gc_paused():
        events = list(events)
        etag = ics.feed_etag(events, base_url=base_url, name=name)
        not_modified = get_conditional_response(request, etag=etag)
        if not_modified is not None:
            not_modified["ETag"] = etag
            return not_modified
        body = ics.calendar_bytes(events, base_url=base_url, name=name)
    response = HttpResponse(body, content_type=ics.CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["ETag"] = etag
    return response


def _feed_events(queryset):
    # Public events only: feeds are read by calendar apps without a session.
    return (
        queryset.public()
        .select_related("commune")
        .filter(end__gte=timezone.now() - timedelta(days=365))
        .order_by("start", "pk")[:FEED_LIMIT]
    )


@require_GET
def event_ics(request, slug: str):
    """ "Ajouter à mon agenda": the event as an .ics file."""
    event = _event_for_view(request, slug)
    return _ics_response([event], request=request, name=event.title, filename=f"{event.slug}.ics")


@require_GET
def feed_all(request):
    """The whole agenda, or the part matching the list's filters given in the address (``territoire``,
    ``theme``, ``type``, ``organisateur``, ``q``; every territory by default)."""
    from essaim.www.events.public import feed_filters, filter_events  # public.py imports this module

    events = Event.objects.all()
    filters = feed_filters(request)
    name = "Agenda de l'ESS"
    if filters is not None:
        events = filter_events(events, filters)
        if filters.perimeter is not None:
            name = f"{name} — {filters.perimeter.name}"
    return _ics_response(_feed_events(events), request=request, name=name, filename="agenda.ics")


@require_GET
def feed_programme(request, slug: str):
    programme = get_object_or_404(Programme, slug=slug)
    return _ics_response(
        _feed_events(Event.objects.filter(programme=programme)),
        request=request,
        name=programme.title,
        filename=f"{programme.slug}.ics",
    )


@require_GET
def feed_organiser(request, slug: str):
    structure = get_object_or_404(Structure.objects.published(), slug=slug)
    return _ics_response(
        _feed_events(Event.objects.organised_by(structure)),
        request=request,
        name=f"Agenda — {structure.name}",
        filename=f"{structure.slug}.ics",
    )
