"""iCalendar (RFC 5545) documents for events: one event ("ajouter à mon agenda"), feeds, email attachments."""

from collections.abc import Iterable

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar
from icalendar import Event as VEvent

from essaim.events.models import Event, EventStatus

PRODID = "-//Essaim//Agenda de l'ESS//FR"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def event_url(event: Event, base_url: str) -> str:
    return f"{base_url.rstrip('/')}{reverse('events:detail', args=[event.slug])}"


def event_uid(event: Event) -> str:
    """A UID stable across feeds and edits (RFC 5545 3.8.4.7: globally unique, persistent)."""
    return f"event-{event.pk}@{settings.ESSAIM_SITE_NAME.lower().replace(' ', '-')}.essaim"


def _location(event: Event) -> str:
    parts = [event.place_name, event.address]
    if event.commune_id:
        parts.append(event.commune.name)
    location = ", ".join(part for part in parts if part)
    return location or event.online_url


def vevent(event: Event, *, base_url: str) -> VEvent:
    url = event_url(event, base_url)
    component = VEvent()
    component.add("uid", event_uid(event))
    component.add("dtstamp", timezone.now())
    component.add("dtstart", event.start)
    component.add("dtend", event.end)
    component.add("summary", event.title)
    description = event.description.strip()
    component.add("description", f"{description}\n\n{url}" if description else url)
    component.add("url", url)
    location = _location(event)
    if location:
        component.add("location", location)
    point = event.point
    if point is not None:
        component.add("geo", point)
    component.add("last-modified", event.updated_at)
    component.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED")
    return component


def calendar_bytes(events: Iterable[Event], *, base_url: str, name: str, method: str = "") -> bytes:
    """An iCalendar document holding ``events``; ``name`` is the calendar's display name."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    calendar.add("name", name)
    for event in events:
        calendar.add_component(vevent(event, base_url=base_url))
    return calendar.to_ical()
