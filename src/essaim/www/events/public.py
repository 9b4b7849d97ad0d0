"""Public views of the agenda beside the list: month calendar, map (page and GeoJSON), per-territory iCalendar
feed, RSS feeds, the embeddable widget and the page that writes its embed code.

Every view takes the list's filters (territoire, theme, type, organisateur, q) from the query string, with the
same defaults (the home perimeter) and the same rule for online events (they belong to every territory).
"""

import calendar
import datetime
import json
from dataclasses import dataclass, field

from csp.decorators import csp_replace
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.db.models import Q
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.feedgenerator import Rss201rev2Feed
from django.utils.text import Truncator
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from essaim.actors.models import Membership, Theme
from essaim.core.access import deny_unless
from essaim.core.site import request_site_url
from essaim.events.access import event_can_moderate
from essaim.events.models import ORGANISING_ROLES, Event, EventStatus, EventStructure, Programme
from essaim.territories.models import Perimeter
from essaim.www.events import views
from essaim.www.events.forms import ALL_TERRITORIES, EventFilterForm
from essaim.www.map.views import FRANCE_EXTENT, TILES_ATTRIBUTION

# The list's filters, in the order they appear in URLs (dates and page are each view's own business).
FILTER_KEYS = ("q", "territoire", "theme", "type", "organisateur")
# Events shown in one day of the month grid; the others are one link away (the list of that day).
DAY_LIMIT = 4
# Events on the map (the soonest first); the list under it says when there are more.
MAP_LIMIT = 500
RSS_LIMIT = 50
WIDGET_DEFAULT_COUNT = 5
WIDGET_MAX_COUNT = 20


@dataclass
class AgendaFilters:
    """The filter form bound to the query string, what it means, and the query string that keeps it."""

    form: EventFilterForm
    cleaned: dict
    perimeter: Perimeter | None
    query: QueryDict

    def urlencode(self, **extra) -> str:
        query = self.query.copy()
        for key, value in extra.items():
            query[key] = value
        return query.urlencode()


def agenda_filters(request, *, every_territory: bool = False) -> AgendaFilters:
    """The list's filters read from ``request.GET``; invalid values are shown in error and ignored.

    Without ``territoire`` the home perimeter applies, as in the list; ``every_territory`` makes it every
    territory instead (feeds: their plain address has always been the whole agenda)."""
    perimeters = list(Perimeter.objects.order_by("-is_home", "name"))
    home = next((perimeter for perimeter in perimeters if perimeter.is_home), None)
    data = request.GET.copy()
    if not data.get("territoire"):
        data["territoire"] = home.slug if home and not every_territory else ALL_TERRITORIES
    form = EventFilterForm(
        data, perimeters=perimeters, themes=Theme.objects.all(), organisers=views._organisers()
    )
    form.is_valid()  # Fields in error are left out of cleaned_data, hence ignored.
    cleaned = form.cleaned_data
    perimeter = next((p for p in perimeters if p.slug == cleaned.get("territoire")), None)
    query = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        if request.GET.get(key):
            query[key] = request.GET[key][:100]
    return AgendaFilters(form=form, cleaned=cleaned, perimeter=perimeter, query=query)


def feed_filters(request) -> AgendaFilters | None:
    """The list's filters of a feed's address (every territory without ``territoire``), None without any:
    the plain feeds, polled often, are spared the filter form's queries."""
    if not any(request.GET.get(key) for key in FILTER_KEYS):
        return None
    return agenda_filters(request, every_territory=True)


def filter_events(events, filters: AgendaFilters):
    """``events`` narrowed by the territory, theme, kind, organiser and words of ``filters`` (not dates)."""
    cleaned = filters.cleaned
    if filters.perimeter is not None:
        events = events.in_perimeter(filters.perimeter)
    if cleaned.get("theme"):
        events = events.filter(themes__slug=cleaned["theme"])
    if cleaned.get("type"):
        events = events.of_kind(cleaned["type"])
    if cleaned.get("organisateur"):
        events = events.filter(
            pk__in=EventStructure.objects.filter(
                structure__slug=cleaned["organisateur"], role__in=ORGANISING_ROLES
            ).values("event_id")
        )
    if cleaned.get("q"):
        events = events.search(cleaned["q"])
    # As in the list: subqueries, or a join on one unique theme slug, cannot repeat an event (no DISTINCT).
    return events


def in_window(events, cleaned):
    """The list's dates: whole local days from ``du`` to ``au``, else what is not over yet."""
    if cleaned.get("du") or cleaned.get("au"):
        start = views._day_start(cleaned["du"]) if cleaned.get("du") else None
        end = views._day_start(cleaned["au"] + datetime.timedelta(days=1)) if cleaned.get("au") else None
        return events.between(start, end)
    return events.upcoming(timezone.now())


# --- Month calendar ---------------------------------------------------------------------------------------


@dataclass
class CalendarEntry:
    """One event on one day of the grid, ready to print (a month holds hundreds: little work left to the
    template)."""

    title: str
    url: str
    # "09h30" on the day it starts; "(suite)" on the following days.
    label: str
    cancelled: bool


# French day and month names, so that a month's 31 days need no date formatting in the template.
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


@dataclass
class CalendarDay:
    date: datetime.date
    in_month: bool
    is_today: bool
    entries: list[CalendarEntry] = field(default_factory=list)
    more: int = 0
    more_url: str = ""

    @property
    def iso(self) -> str:
        return self.date.isoformat()

    @property
    def weekday(self) -> str:
        return WEEKDAYS[self.date.weekday()]

    @property
    def month_name(self) -> str:
        return MONTHS[self.date.month - 1]

    @property
    def day_and_month(self) -> str:
        """The day and month, like "10 mars"."""
        return f"{self.date.day} {self.month_name}"


def _parse_month(value: str, default: datetime.date) -> tuple[datetime.date, bool]:
    """The first day of ``value`` ("2026-12"), and whether it was valid (else ``default``'s month)."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 1900 <= year <= 2100:
            return datetime.date(year, month, 1), True
    except ValueError:
        pass
    return default.replace(day=1), not value


def _shift_month(first: datetime.date, months: int) -> datetime.date:
    index = first.year * 12 + first.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_grid(events, first: datetime.date, *, today: datetime.date, day_url) -> list[list[CalendarDay]]:
    """Weeks (Monday first) of the month starting on ``first``, each day holding the events that run on it
    (an event over several days appears on each; one ending at midnight ends the day before). At most
    DAY_LIMIT entries per day; ``day_url(date)`` is the link to the others."""
    weeks = [
        [CalendarDay(date=day, in_month=day.month == first.month, is_today=day == today) for day in week]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    ]
    days = {day.date: day for week in weeks for day in week if day.in_month}
    detail = reverse("events:detail", args=["__slug__"])
    one_day = datetime.timedelta(days=1)
    for event in events:
        start = timezone.localtime(event.start)
        end = timezone.localtime(event.end)
        if end > start and end.time() == datetime.time.min:
            end -= datetime.timedelta(microseconds=1)
        url = detail.replace("__slug__", event.slug)
        cancelled = event.status == EventStatus.CANCELLED
        day, last = max(start.date(), first), end.date()
        while day <= last and day in days:
            cell = days[day]
            if len(cell.entries) < DAY_LIMIT:
                label = f"{start:%H}h{start:%M}" if day == start.date() else "(suite)"
                cell.entries.append(CalendarEntry(event.title, url, label, cancelled))
            else:
                cell.more += 1
            day += one_day
    for cell in days.values():
        if cell.more:
            cell.more_url = day_url(cell.date)
    return weeks


@require_GET
def calendar_month(request):
    """The agenda as a month grid (``mois=YYYY-MM``, the current month by default) with the list's filters.

    An invalid month shows the current one with a message. Works without JavaScript."""
    filters = agenda_filters(request)
    today = timezone.localdate()
    requested = request.GET.get("mois", "")
    if not requested and filters.cleaned.get("du"):
        requested = filters.cleaned["du"].strftime("%Y-%m")
    first, month_valid = _parse_month(requested, today)
    following = _shift_month(first, 1)
    events = filter_events(views._listed_events(request.user), filters).between(
        views._day_start(first), views._day_start(following)
    )
    events = list(events.only("pk", "slug", "title", "start", "end", "status").order_by("start", "pk"))

    def day_url(day):
        return f"{reverse('events:list')}?{filters.urlencode(du=day.isoformat(), au=day.isoformat())}"

    weeks = month_grid(events, first, today=today, day_url=day_url)
    previous = _shift_month(first, -1)
    context = {
        "form": filters.form,
        "filters_query": filters.query,
        "perimeter": filters.perimeter,
        "weeks": weeks,
        "month": first,
        "month_valid": month_valid,
        "event_count": len(events),
        "busy_days": [day for week in weeks for day in week if day.in_month and day.entries],
        "previous": {"date": previous, "url": "?" + filters.urlencode(mois=previous.strftime("%Y-%m"))},
        "next": {"date": following, "url": "?" + filters.urlencode(mois=following.strftime("%Y-%m"))},
        "current_month_url": None
        if first == today.replace(day=1)
        else "?" + filters.urlencode(mois=today.strftime("%Y-%m")),
        "list_url": f"{reverse('events:list')}?"
        + filters.urlencode(du=first.isoformat(), au=(following - datetime.timedelta(days=1)).isoformat()),
    }
    return render(request, "events/calendar.html", context)


# --- Map --------------------------------------------------------------------------------------------------


def _mapped_events(request, filters: AgendaFilters):
    """The first MAP_LIMIT events to come (or within the dates) that have a point, soonest first."""
    events = filter_events(in_window(views._listed_events(request.user), filters.cleaned), filters)
    events = events.filter(
        Q(latitude__isnull=False) | Q(commune__latitude__isnull=False, commune__longitude__isnull=False)
    )
    events = events.select_related("commune").order_by("start", "pk")
    listed = list(events[: MAP_LIMIT + 1])
    return listed[:MAP_LIMIT], len(listed) > MAP_LIMIT


def _when(event: Event) -> str:
    start = timezone.localtime(event.start)
    return date_format(start, "l j F Y, H\\hi")


def event_features(events) -> list[dict]:
    """GeoJSON (RFC 7946) Point features of ``events`` (which all have a point), in their order."""
    detail = reverse("events:detail", args=["__slug__"])
    features = []
    for event in events:
        latitude, longitude = event.point
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(longitude, 6), round(latitude, 6)]},
                "properties": {
                    "title": event.title,
                    "url": detail.replace("__slug__", event.slug),
                    "start": timezone.localtime(event.start).isoformat(),
                    "when": _when(event),
                    "place": event.commune.name if event.commune_id else event.place_name,
                    "cancelled": event.status == EventStatus.CANCELLED,
                },
            }
        )
    return features


@require_GET
def map_page(request):
    """Upcoming events with a point on a map, and the list of exactly those events (the whole page when
    JavaScript is off)."""
    filters = agenda_filters(request)
    events, truncated = _mapped_events(request, filters)
    query = filters.query.copy()
    for key in ("du", "au"):
        if filters.cleaned.get(key):
            query[key] = filters.cleaned[key].isoformat()
    config = {
        "geojsonUrl": reverse("events:map_geojson") + (f"?{query.urlencode()}" if query else ""),
        "tilesUrl": settings.ESSAIM_MAP_TILES_URL,
        "attribution": TILES_ATTRIBUTION,
        "extent": FRANCE_EXTENT,
    }
    context = {
        "form": filters.form,
        "filters_query": filters.query,
        "perimeter": filters.perimeter,
        "events": [feature["properties"] for feature in event_features(events)],
        "truncated": truncated,
        "map_limit": MAP_LIMIT,
        "map_config": config,
    }
    return render(request, "events/map.html", context)


@require_GET
def map_geojson(request):
    """The map's events as a GeoJSON FeatureCollection, with the list's filters (and ``du``/``au``).
    ``truncated`` (a foreign member) says when more than MAP_LIMIT events matched."""
    filters = agenda_filters(request)
    events, truncated = _mapped_events(request, filters)
    body = {
        "type": "FeatureCollection",
        "features": event_features(events),
        "truncated": truncated,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")), content_type="application/geo+json"
    )
    response["Cache-Control"] = "private, max-age=60"
    return response


# --- Feeds ------------------------------------------------------------------------------------------------


@require_GET
def feed_perimeter(request, slug: str):
    """The iCalendar feed of a territory (a perimeter of the territories app), online events included."""
    perimeter = get_object_or_404(Perimeter, slug=slug)
    events = views._feed_events(Event.objects.all().in_perimeter(perimeter))
    return views._ics_response(
        events, request=request, name=f"Agenda — {perimeter.name}", filename=f"{perimeter.slug}.ics"
    )


class FrenchRssFeed(Rss201rev2Feed):
    # Feed readers show this as the file type; RSS 2.0 is what they all read.
    content_type = "application/rss+xml; charset=utf-8"


class UpcomingEventsFeed(Feed):
    """RSS 2.0: the next RSS_LIMIT public events, soonest first (cancelled ones say so in their title), with
    the list's filters when the address carries them (every territory without ``territoire``)."""

    feed_type = FrenchRssFeed
    language = "fr"

    def get_object(self, request, *args, **kwargs):
        return feed_filters(request)

    def title(self, obj):
        where = f" — {obj.perimeter.name}" if obj is not None and obj.perimeter is not None else ""
        return f"Agenda de l'ESS{where} — {settings.ESSAIM_SITE_NAME}"

    def link(self, obj):
        if obj is None:
            return reverse("events:list")
        # The list's default territory is the home perimeter, the feed's is every territory: say which.
        query = obj.urlencode() if obj.query.get("territoire") else obj.urlencode(territoire=ALL_TERRITORIES)
        return f"{reverse('events:list')}?{query}"

    def description(self):
        return "Les prochains événements de l'économie sociale et solidaire du territoire."

    def events(self, obj):
        events = Event.objects.public().upcoming(timezone.now())
        return filter_events(events, obj) if obj is not None else events

    def items(self, obj=None):
        return self.events(obj).select_related("commune").order_by("start", "pk")[:RSS_LIMIT]

    def item_title(self, item: Event):
        prefix = "Annulé — " if item.status == EventStatus.CANCELLED else ""
        return f"{prefix}{item.title} ({_when(item)})"

    def item_description(self, item: Event):
        place = ", ".join(
            part for part in (item.place_name, item.commune.name if item.commune_id else "") if part
        )
        lines = [_when(item), place or ("En ligne" if item.online_url else "")]
        if item.description:
            lines.append(Truncator(item.description).words(80))
        # Feed readers render an item's description as HTML: the organisers' plain text is escaped here.
        return linebreaksbr("\n".join(line for line in lines if line), autoescape=True)

    def item_link(self, item: Event):
        return reverse("events:detail", args=[item.slug])

    def item_pubdate(self, item: Event):
        return item.created_at

    def item_categories(self, item: Event):
        return [item.get_kind_display()]


class ProgrammeEventsFeed(UpcomingEventsFeed):
    """RSS 2.0 of a programme's upcoming public events."""

    def get_object(self, request, slug):
        return get_object_or_404(Programme, slug=slug)

    def title(self, obj):
        return f"{obj.title} — {settings.ESSAIM_SITE_NAME}"

    def link(self, obj):
        return reverse("events:programme", args=[obj.slug])

    def description(self, obj):
        return f"Les prochains événements du programme « {obj.title} »."

    def events(self, obj):
        return Event.objects.public().upcoming(timezone.now()).filter(programme=obj)


class PerimeterEventsFeed(UpcomingEventsFeed):
    """RSS 2.0 of a territory's upcoming public events (online events included, as in the list)."""

    def get_object(self, request, slug):
        return get_object_or_404(Perimeter, slug=slug)

    def title(self, obj):
        return f"Agenda de l'ESS — {obj.name} — {settings.ESSAIM_SITE_NAME}"

    def link(self, obj):
        return f"{reverse('events:list')}?territoire={obj.slug}"

    def description(self, obj):
        return f"Les prochains événements de l'économie sociale et solidaire du territoire « {obj.name} »."

    def events(self, obj):
        return Event.objects.public().upcoming(timezone.now()).in_perimeter(obj)


# --- Embeddable widget ------------------------------------------------------------------------------------

WIDGET_TARGETS = {"onglet": "_blank", "page": "_top"}


class WidgetCodeForm(forms.Form):
    """The widget's own options (its filters are the list's)."""

    nombre = forms.IntegerField(
        label="Nombre d'événements affichés",
        min_value=1,
        max_value=WIDGET_MAX_COUNT,
        initial=WIDGET_DEFAULT_COUNT,
        required=False,
    )
    cible = forms.ChoiceField(
        label="Les liens vers les événements s'ouvrent",
        choices=[("onglet", "dans un nouvel onglet"), ("page", "à la place de la page du site partenaire")],
        initial="onglet",
        required=False,
    )
    hauteur = forms.IntegerField(
        label="Hauteur du cadre (pixels)", min_value=200, max_value=2000, initial=480, required=False
    )


def _bounded_int(value, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high)


# Partners' sites, whatever they are, may frame this view (and only this one): it shows public events and
# links, no form, no session-bound action, so framing it gives clickjacking nothing to hijack.
@require_GET
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
def widget(request):
    """The next public events matching the list's filters, in a minimal page for an ``<iframe>`` on a
    partner's site. ``nombre`` (1 to 20) events; ``cible=page`` opens links in the whole window instead of a
    new tab. No session is read: the same page for everyone."""
    filters = agenda_filters(request)
    count = _bounded_int(request.GET.get("nombre"), WIDGET_DEFAULT_COUNT, 1, WIDGET_MAX_COUNT)
    target_key = request.GET.get("cible", "onglet")
    target = WIDGET_TARGETS.get(target_key, "_blank")
    events = (
        filter_events(Event.objects.public().upcoming(timezone.now()), filters)
        .select_related("commune")
        .order_by("start", "pk")[:count]
    )
    query = filters.urlencode()
    context = {
        "events": events,
        "perimeter": filters.perimeter,
        "target": target,
        "new_tab": target == "_blank",
        "base_url": request_site_url(request),
        "agenda_url": request_site_url(request) + reverse("events:list") + (f"?{query}" if query else ""),
    }
    response = render(request, "events/widget.html", context)
    response["Cache-Control"] = "public, max-age=300"
    return response


def can_share_agenda(user) -> bool:
    """Facilitators, and members of a structure that organises events, write embed codes for partners."""
    if event_can_moderate(user):
        return True
    return Membership.objects.filter(
        user=user, structure__event_links__role__in=ORGANISING_ROLES, user__is_active=True
    ).exists()


def _attribute(value: str) -> str:
    """``value`` escaped for a double-quoted HTML attribute (apostrophes stay readable for the partner)."""
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


@login_required
def widget_code(request):
    """The page where facilitators and organisers choose the widget's filters and copy its embed code."""
    deny_unless(can_share_agenda(request.user))
    filters = agenda_filters(request)
    data = {"nombre": WIDGET_DEFAULT_COUNT, "cible": "onglet", "hauteur": 480}
    data.update({key: request.GET[key] for key in data if request.GET.get(key)})
    options = WidgetCodeForm(data)
    options.is_valid()  # A value in error is shown and replaced by its default.
    count = options.cleaned_data.get("nombre") or WIDGET_DEFAULT_COUNT
    target_key = options.cleaned_data.get("cible") or "onglet"
    height = options.cleaned_data.get("hauteur") or 480
    widget_query = filters.urlencode(nombre=str(count), cible=target_key)
    widget_url = f"{request_site_url(request)}{reverse('events:widget')}?{widget_query}"
    title = f"Agenda de l'ESS — {filters.perimeter.name}" if filters.perimeter else "Agenda de l'ESS"
    # The partner pastes this on their own site: our CSP does not apply there, an inline style is fine.
    code = (
        f'<iframe src="{_attribute(widget_url)}" title="{_attribute(title)}" width="100%" height="{height}" '
        f'loading="lazy" style="border:0;max-width:100%"></iframe>'
    )
    context = {
        "form": filters.form,
        "options": options,
        "widget_url": widget_url,
        "preview_url": f"{reverse('events:widget')}?{widget_query}",
        "embed_code": code,
        "height": height,
        "title": title,
    }
    return render(request, "events/widget_code.html", context)
