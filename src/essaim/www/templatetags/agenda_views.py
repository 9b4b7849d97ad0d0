"""The agenda's view switch (list / calendar / map) and its feeds: "S'abonner" block, <link rel=alternate>."""

from django import template
from django.http import QueryDict
from django.urls import reverse

from essaim.www.events.public import FILTER_KEYS, can_share_agenda

register = template.Library()

VIEWS = (
    ("list", "Liste", "events:list"),
    ("calendar", "Calendrier", "events:calendar"),
    ("map", "Carte", "events:map"),
)


def filters_query(get) -> str:
    """The filter part of a query string (``request.GET``), in a stable order."""
    query = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        if get.get(key):
            query[key] = get[key][:100]
    return query.urlencode()


@register.inclusion_tag("events/calendar_switch.html", takes_context=True)
def agenda_switch(context, current: str):
    """Links to the list, calendar and map of the agenda, each keeping the current filters."""
    query = filters_query(context["request"].GET)
    suffix = f"?{query}" if query else ""
    return {
        "views": [
            {"label": label, "url": reverse(name) + suffix, "current": key == current}
            for key, label, name in VIEWS
        ]
    }


def agenda_feed_list(request, *, perimeter=None, programme=None) -> list[dict]:
    """The feeds a page offers, the most specific first, with absolute URLs (they are copied elsewhere)."""
    feeds = []
    if programme is not None:
        feeds += [
            (
                "ics",
                f"Programme « {programme.title} »",
                reverse("events:programme_feed", args=[programme.slug]),
            ),
            (
                "rss",
                f"Programme « {programme.title} »",
                reverse("events:programme_rss", args=[programme.slug]),
            ),
        ]
    if perimeter is not None:
        feeds += [
            (
                "ics",
                f"Territoire : {perimeter.name}",
                reverse("events:perimeter_feed", args=[perimeter.slug]),
            ),
            ("rss", f"Territoire : {perimeter.name}", reverse("events:perimeter_rss", args=[perimeter.slug])),
        ]
    feeds += [
        ("ics", "Tout l'agenda", reverse("events:feed")),
        ("rss", "Tout l'agenda", reverse("events:rss")),
    ]
    formats = {
        "ics": ("iCalendar", "text/calendar"),
        "rss": ("RSS", "application/rss+xml"),
    }
    return [
        {
            "label": label,
            "format": formats[kind][0],
            "mime": formats[kind][1],
            "url": request.build_absolute_uri(path),
        }
        for kind, label, path in feeds
    ]


@register.inclusion_tag("events/_feeds.html", takes_context=True)
def agenda_feeds(context, perimeter=None, programme=None):
    """The "S'abonner" block: each feed's address in a read-only field, with a copy button (agenda.js), and
    for facilitators and organisers the link to the widget's embed code, with the page's filters."""
    request = context["request"]
    user = request.user
    can_share = bool(user.is_authenticated and can_share_agenda(user))
    widget_code_url = ""
    if can_share:
        query = filters_query(request.GET)
        widget_code_url = reverse("events:widget_code") + (f"?{query}" if query else "")
    return {
        "feeds": agenda_feed_list(request, perimeter=perimeter, programme=programme),
        "widget_code_url": widget_code_url,
    }


@register.inclusion_tag("events/_feeds_links.html", takes_context=True)
def agenda_feed_links(context, perimeter=None, programme=None):
    """``<link rel="alternate">`` elements for the page's feeds (browsers and readers discover them)."""
    return {"feeds": agenda_feed_list(context["request"], perimeter=perimeter, programme=programme)}
