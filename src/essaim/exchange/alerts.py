"""Alerts: saved searches of offers and needs, emailed daily or weekly and readable as an RSS feed.

An alert's criteria are all optional: direction, kind, themes (any of them), words (the listing text
search), and a place (a commune, or a structure the person belongs to) with a radius. The periodic task
calls :func:`alerts_send`: each due alert gets one email naming the listings published since the end of
the period it last looked at; no match, no email. Each alert is handled in its own transaction under a row
lock, and at most one email per alert and day is recorded (``AlertSending``), so two runs never both send.

Links in the emails carry signed tokens: the one-click unsubscribe link (RFC 8058 headers as well) and the
RSS feed work without signing in.
"""

import datetime
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from essaim.actors.models import Membership, Structure, Theme
from essaim.core.audit import log_action
from essaim.core.site import site_url
from essaim.exchange.matching import haversine_km
from essaim.exchange.models import Alert, AlertFrequency, AlertSending, Direction, Kind, Listing

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "essaim.exchange.alerts.unsubscribe"
FEED_SALT = "essaim.exchange.alerts.feed"
PERIODS = {
    AlertFrequency.DAILY: datetime.timedelta(days=1),
    AlertFrequency.WEEKLY: datetime.timedelta(days=7),
}
# The task runs once a day at a fixed hour and may start (or reach an alert) a little later one day than
# the next: an alert is due when its period is over give or take this margin, not to skip a whole day.
DUE_MARGIN = datetime.timedelta(hours=2)
# Listings named in one email; the email links to the list for the rest.
EMAIL_LISTINGS = 30
# The RSS feed shows the newest matching listings published within this many days.
FEED_DAYS = 30
FEED_SIZE = 50
# Alerts written per transaction by the periodic run (each in its own savepoint).
CHUNK = 100
EDITABLE_FIELDS = frozenset({"direction", "kind", "text", "commune", "structure", "radius_km", "frequency"})


class AlertLinkError(Exception):
    """A tampered or unknown alert link (unsubscribe or feed)."""


# -- Criteria ------------------------------------------------------------------------------------------------


def text_search(queryset, text: str):
    """Listings of ``queryset`` matching the words ``text``: the list page's text search (stemming and
    synonyms, see ``exchange.search``), so that an alert finds what the list shows for the same words."""
    return queryset.search(text, rank=False)


def alert_point(alert: Alert) -> tuple[float, float] | None:
    """(latitude, longitude) of the alert's place, or None (no place, or a place without a point)."""
    if alert.structure_id is not None and alert.structure is not None:
        return alert.structure.point
    commune = alert.commune
    if commune is not None and commune.latitude is not None and commune.longitude is not None:
        return (commune.latitude, commune.longitude)
    return None


def has_place(alert: Alert) -> bool:
    return alert.commune_id is not None or alert.structure_id is not None


@dataclass(frozen=True, slots=True)
class Candidate:
    """What alert matching needs of one listed listing."""

    pk: int
    published_at: datetime.datetime
    direction: str
    kind: str
    theme_ids: frozenset
    point: tuple[float, float] | None


class Candidates:
    """The listed listings of one period, bucketed by (direction, kind), newest first in each bucket, so
    that an alert only walks its own buckets and stops at the start of its own period. The listings
    matching a text are searched once per text (in SQL, within the period) and kept."""

    def __init__(self, rows: list[Candidate], *, listings):
        self.buckets: dict[tuple[str, str], list[Candidate]] = {}
        for candidate in rows:  # already newest first
            self.buckets.setdefault((candidate.direction, candidate.kind), []).append(candidate)
        self._listings = listings
        self._texts: dict[str, frozenset[int]] = {}

    def __iter__(self):
        for bucket in self.buckets.values():
            yield from bucket

    def select(self, *, direction: str, kind: str, since: datetime.datetime | None):
        """Candidates of ``direction`` and ``kind`` (empty: any) published after ``since``."""
        for (bucket_direction, bucket_kind), bucket in self.buckets.items():
            if (direction and bucket_direction != direction) or (kind and bucket_kind != kind):
                continue
            for candidate in bucket:
                if since is not None and candidate.published_at <= since:
                    break
                yield candidate

    def matching_text(self, text: str) -> frozenset[int]:
        key = " ".join(text.split()).lower()
        if key not in self._texts:
            self._texts[key] = frozenset(text_search(self._listings, text).values_list("pk", flat=True))
        return self._texts[key]


def load_candidates(
    *,
    since: datetime.datetime,
    until: datetime.datetime,
    direction: str = "",
    kind: str = "",
) -> Candidates:
    """Listed listings published in (``since``, ``until``], in two queries (rows, themes)."""
    listings = Listing.objects.listed(now=until).filter(published_at__gt=since, published_at__lte=until)
    if direction:
        listings = listings.filter(direction=direction)
    if kind:
        listings = listings.filter(kind=kind)
    rows = list(
        listings.annotate(
            lat=Coalesce(F("structure__latitude"), F("structure__commune__latitude")),
            lon=Coalesce(F("structure__longitude"), F("structure__commune__longitude")),
        )
        .order_by("-published_at", "-pk")
        .values_list("pk", "published_at", "direction", "kind", "lat", "lon")
    )
    themes: dict[int, set[int]] = {}
    links = Listing.themes.through.objects.filter(listing__in=listings.values("pk"))
    for listing_id, theme_id in links.values_list("listing_id", "theme_id").iterator(chunk_size=5000):
        themes.setdefault(listing_id, set()).add(theme_id)
    candidates = [
        Candidate(
            pk=pk,
            published_at=published_at,
            direction=direction_,
            kind=kind_,
            theme_ids=frozenset(themes.get(pk, ())),
            point=(lat, lon) if lat is not None and lon is not None else None,
        )
        for pk, published_at, direction_, kind_, lat, lon in rows
    ]
    return Candidates(candidates, listings=listings)


def matching_ids(
    *,
    alert: Alert,
    candidates: Candidates,
    since: datetime.datetime | None = None,
    theme_ids: frozenset | None = None,
) -> list[int]:
    """Primary keys of the ``candidates`` (published after ``since``) matching every criterion of
    ``alert``, newest first. A place without a known point matches nothing; a listing whose structure has
    no point is left out of an alert with a place."""
    if theme_ids is None:
        theme_ids = frozenset(theme.pk for theme in alert.themes.all())
    point = alert_point(alert)
    if has_place(alert) and point is None:
        return []
    text = alert.text.strip()
    found = candidates.matching_text(text) if text else None
    if point is not None:
        # A box around the circle: plain comparisons leave out most listings before the exact distance.
        lat_span = alert.radius_km / 110.5
        lon_span = alert.radius_km / max(111.3 * math.cos(math.radians(point[0])), 1.0)
        south, north = point[0] - lat_span, point[0] + lat_span
        west, east = point[1] - lon_span, point[1] + lon_span
    selected = []
    for candidate in candidates.select(direction=alert.direction, kind=alert.kind, since=since):
        if found is not None and candidate.pk not in found:
            continue
        if theme_ids and not (theme_ids & candidate.theme_ids):
            continue
        if point is not None:
            other = candidate.point
            if (
                other is None
                or not (south <= other[0] <= north and west <= other[1] <= east)
                or haversine_km(point, other) > alert.radius_km
            ):
                continue
        selected.append(candidate)
    selected.sort(key=lambda candidate: (candidate.published_at, candidate.pk), reverse=True)
    return [candidate.pk for candidate in selected]


def alert_listings(*, alert: Alert, now: datetime.datetime | None = None, limit: int = FEED_SIZE) -> list:
    """The newest listed listings matching ``alert`` published within FEED_DAYS (the RSS feed)."""
    now = now or timezone.now()
    candidates = load_candidates(
        since=now - datetime.timedelta(days=FEED_DAYS), until=now, direction=alert.direction, kind=alert.kind
    )
    ids = matching_ids(alert=alert, candidates=candidates)[:limit]
    listings = Listing.objects.filter(pk__in=ids).select_related("structure__commune")
    return sorted(listings, key=lambda listing: ids.index(listing.pk))


# -- Due alerts ----------------------------------------------------------------------------------------------


def period_start(alert: Alert) -> datetime.datetime:
    """Start of the period the next email covers: the end of the last one, else the alert's creation."""
    return alert.last_checked_at or alert.created_at


def is_due(alert: Alert, now: datetime.datetime) -> bool:
    """The alert is emailed and its period (a day or a week, give or take DUE_MARGIN) is over."""
    return alert.email_enabled and period_start(alert) <= now - PERIODS[alert.frequency] + DUE_MARGIN


def due_alerts(*, now: datetime.datetime | None = None):
    """Emailed alerts whose period is over at ``now`` (see :func:`is_due`), oldest period first."""
    now = now or timezone.now()
    condition = Q()
    for frequency, period in PERIODS.items():
        condition |= Q(frequency=frequency, start__lte=now - period + DUE_MARGIN)
    return (
        Alert.objects.emailed()
        .filter(user__is_active=True)
        .annotate(start=Coalesce("last_checked_at", "created_at"))
        .filter(condition)
        .order_by("start", "pk")
    )


# -- Tokens --------------------------------------------------------------------------------------------------


def unsubscribe_token(alert: Alert) -> str:
    """Signed token of the alert's unsubscribe link (no expiry: unsubscribing must always work)."""
    return signing.dumps({"a": alert.pk}, salt=UNSUBSCRIBE_SALT)


def feed_token(alert: Alert) -> str:
    """Signed token of the alert's RSS feed address (valid as long as the alert exists)."""
    return signing.dumps({"a": alert.pk}, salt=FEED_SALT)


def _alert_for(token: str, salt: str) -> Alert:
    try:
        payload = signing.loads(token, salt=salt)
    except signing.BadSignature:
        raise AlertLinkError("Ce lien n'est pas valide.") from None
    alert_id = payload.get("a") if isinstance(payload, dict) else None
    alert = None
    if isinstance(alert_id, int):
        alert = (
            Alert.objects.select_related("user", "commune", "structure__commune")
            .prefetch_related("themes")
            .filter(pk=alert_id)
            .first()
        )
    if alert is None:
        raise AlertLinkError("Ce lien n'est plus valide : l'alerte a été supprimée.")
    return alert


def alert_for_unsubscribe_token(token: str) -> Alert:
    """The alert an unsubscribe token names. Raises AlertLinkError when tampered or deleted."""
    return _alert_for(token, UNSUBSCRIBE_SALT)


def alert_for_feed_token(token: str) -> Alert:
    """The alert a feed token names. Raises AlertLinkError when tampered or deleted."""
    return _alert_for(token, FEED_SALT)


def feed_url(alert: Alert) -> str:
    return reverse("exchange:alert_feed", args=[feed_token(alert)])


def unsubscribe_url(alert: Alert) -> str:
    return reverse("exchange:alert_unsubscribe", args=[unsubscribe_token(alert)])


def describe(alert: Alert, theme_labels: Iterable[str] | None = None) -> str:
    """French summary of the criteria: "Besoins · Local ou espace · « salle » · à 20 km de Caussade"."""
    parts = []
    if alert.direction:
        parts.append("Offres" if alert.direction == "offer" else "Besoins")
    else:
        parts.append("Offres et besoins")
    if alert.kind:
        parts.append(alert.get_kind_display())
    labels = list(theme_labels if theme_labels is not None else (t.label for t in alert.themes.all()))
    if labels:
        parts.append(", ".join(labels))
    if alert.text.strip():
        parts.append(f"« {alert.text.strip()} »")
    place = alert.structure.name if alert.structure_id else (alert.commune.name if alert.commune_id else "")
    if place:
        parts.append(f"à {alert.radius_km}\u00a0km de {place}")
    return " · ".join(parts)


# -- Writes --------------------------------------------------------------------------------------------------


def _check_place(*, user, fields: dict[str, Any]) -> None:
    structure = fields.get("structure")
    if structure is not None and not Membership.objects.filter(user=user, structure=structure).exists():
        raise ValidationError({"structure": "Choisissez une structure dont vous êtes membre."})
    if structure is not None and fields.get("commune") is not None:
        raise ValidationError({"commune": "Choisissez une commune ou une structure, pas les deux."})


@transaction.atomic
def alert_create(*, user, themes: Iterable[Theme] = (), **fields: Any) -> Alert:
    """Save a search of ``user``. Raises ValidationError (French messages) on bad input, a structure the
    person does not belong to, or both a commune and a structure."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    if not getattr(user, "is_authenticated", False):
        raise ValidationError("Connectez-vous pour créer une alerte.")
    _check_place(user=user, fields=fields)
    alert = Alert(user=user, **fields)
    alert.text = " ".join(alert.text.split())
    alert.full_clean(exclude=["user"])
    alert.save()
    alert.themes.set(themes)
    log_action(actor=user, verb="exchange.alert.created", obj=alert, data={"frequency": alert.frequency})
    return alert


@transaction.atomic
def alert_set_email(*, alert: Alert, actor, enabled: bool) -> Alert:
    """Resume or stop the emails of an alert (the feed keeps working). Resuming starts a fresh period, so
    the next email does not name listings published while it was stopped."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.email_enabled == enabled:
        return alert
    alert.email_enabled = enabled
    fields = ["email_enabled"]
    if enabled:
        alert.last_checked_at = timezone.now()
        fields.append("last_checked_at")
    alert.save(update_fields=fields)
    verb = "exchange.alert.resumed" if enabled else "exchange.alert.unsubscribed"
    log_action(actor=actor, verb=verb, obj=alert)
    return alert


@transaction.atomic
def alert_unsubscribe(*, alert: Alert) -> bool:
    """The one-click unsubscribe: stop the alert's emails. Returns False when they were already stopped."""
    if not Alert.objects.filter(pk=alert.pk, email_enabled=True).exists():
        return False
    alert_set_email(alert=alert, actor=None, enabled=False)
    return True


@transaction.atomic
def alert_delete(*, alert: Alert, actor) -> None:
    """Delete an alert (its sendings go with it; its links stop working)."""
    log_action(actor=actor, verb="exchange.alert.deleted", data={"alert": alert.pk})
    alert.delete()


# -- Sending -------------------------------------------------------------------------------------------------


_PLACEHOLDER_PK = 987654321987
_PLACEHOLDER = "JETON-A-REMPLACER"


class EmailListings:
    """The text each email shows of a listing (kind, title, structure, address), built once per run: most
    alerts of a run name some of the same new listings."""

    def __init__(self):
        self.base = site_url()
        self.blocks: dict[int, str] = {}
        # URL patterns resolved once per run, not once per listing or email.
        self.detail = self.base + reverse("exchange:detail", args=[_PLACEHOLDER_PK])
        self.feed = self.base + reverse("exchange:alert_feed", args=[_PLACEHOLDER])
        self.unsubscribe = self.base + reverse("exchange:alert_unsubscribe", args=[_PLACEHOLDER])
        self.alerts = self.base + reverse("exchange:alerts")

    def get(self, ids: list[int]) -> list[str]:
        missing = [pk for pk in ids if pk not in self.blocks]
        if missing:
            directions, kinds = dict(Direction.choices), dict(Kind.choices)
            rows = Listing.objects.filter(pk__in=missing).values_list(
                "pk", "title", "direction", "kind", "structure__name", "structure__commune__name"
            )
            for pk, title, direction, kind, structure, commune in rows:
                place = f" ({commune})" if commune else ""
                url = self.detail.replace(str(_PLACEHOLDER_PK), str(pk))
                self.blocks[pk] = (
                    f"- {directions[direction]} · {kinds[kind]} : {title}\n  {structure}{place}\n  {url}"
                )
        return [self.blocks[pk] for pk in ids if pk in self.blocks]


def _subject(total: int, summary: str) -> str:
    news = "1 nouvelle annonce" if total == 1 else f"{total} nouvelles annonces"
    return f"{news} — {summary}"


def _message(*, alert: Alert, listings: list, total: int, since: datetime.datetime, shown: EmailListings):
    unsubscribe = shown.unsubscribe.replace(_PLACEHOLDER, unsubscribe_token(alert))
    summary = describe(alert)
    context = {
        "summary": summary,
        "listings": listings,
        "total": total,
        "more": total - len(listings),
        "since": since,
        "site_name": settings.ESSAIM_SITE_NAME,
        "alerts_url": shown.alerts,
        "feed_url": shown.feed.replace(_PLACEHOLDER, feed_token(alert)),
        "unsubscribe_url": unsubscribe,
    }
    return EmailMessage(
        subject=" ".join(_subject(total, summary).split()),
        body=render_to_string("exchange/alert_email.txt", context),
        to=[alert.user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )


def _send(
    *, alert: Alert, now: datetime.datetime, candidates: Candidates, shown: EmailListings
) -> AlertSending | None:
    """Match, claim and email one alert whose ``last_checked_at`` / ``email_enabled`` were read from the
    database; run inside a transaction.

    The claim is a conditional UPDATE on the period's start as read: when another run (or an unsubscribe)
    changed the row in the meantime, nothing is updated and nothing is sent.
    """
    if not is_due(alert, now):
        return None
    since = period_start(alert)
    ids = matching_ids(alert=alert, candidates=candidates, since=since)
    # At most one email a day, whatever happened to the period (the unique constraint guards it too).
    send = bool(ids) and not (alert.last_sent_at and alert.last_sent_at.date() == now.date())
    claimed = (
        Alert.objects.filter(pk=alert.pk, email_enabled=True, last_checked_at=alert.last_checked_at)
        if alert.last_checked_at is not None
        else Alert.objects.filter(pk=alert.pk, email_enabled=True, last_checked_at__isnull=True)
    ).update(last_checked_at=now, last_sent_at=now if send else F("last_sent_at"))
    alert.last_checked_at = now
    if not claimed or not send:
        return None
    alert.last_sent_at = now
    named = ids[:EMAIL_LISTINGS]
    listings = shown.get(named)
    _message(alert=alert, listings=listings, total=len(ids), since=since, shown=shown).send()
    return AlertSending.objects.create(
        alert=alert, sent_at=now, sent_on=now.date(), listing_count=len(ids), listing_ids=named
    )


@transaction.atomic
def alert_send(*, alert: Alert, now: datetime.datetime | None = None) -> AlertSending | None:
    """Email ``alert`` the listings published since its period started, if it is due; returns the sending,
    or None (not due, unsubscribed, already sent today, or nothing new). The period ends at ``now`` in every
    case but the first two."""
    now = now or timezone.now()
    alert = (
        Alert.objects.select_related("user", "commune", "structure__commune")
        .prefetch_related("themes")
        .filter(pk=alert.pk)
        .first()
    )
    if alert is None or not is_due(alert, now):
        return None
    candidates = load_candidates(
        since=period_start(alert), until=now, direction=alert.direction, kind=alert.kind
    )
    return _send(alert=alert, now=now, candidates=candidates, shown=EmailListings())


@dataclass
class AlertRun:
    """What one run of :func:`alerts_send` did."""

    due: int = 0
    emails: int = 0
    failed: int = 0
    listings: int = 0
    sending_ids: list[int] = field(default_factory=list)


def alerts_send(*, now: datetime.datetime | None = None, limit: int | None = None) -> AlertRun:
    """Email every due alert; returns the counts.

    The listings of the longest period are loaded once and matched in memory. Alerts are written in
    transactions of CHUNK alerts (few commits), each alert in its own savepoint: one that fails is logged,
    counted and rolled back (its email with it), the others go on.
    """
    now = now or timezone.now()
    run = AlertRun()
    alerts = due_alerts(now=now).select_related("user", "commune", "structure__commune")
    if limit is not None:
        alerts = alerts[:limit]
    alerts = list(alerts.prefetch_related("themes"))
    run.due = len(alerts)
    if not alerts:
        return run
    candidates = load_candidates(since=min(alert.start for alert in alerts), until=now)
    shown = EmailListings()
    for offset in range(0, len(alerts), CHUNK):
        with transaction.atomic():
            for alert in alerts[offset : offset + CHUNK]:
                try:
                    with transaction.atomic():
                        sending = _send(alert=alert, now=now, candidates=candidates, shown=shown)
                except Exception:  # one bad alert must not stop the others
                    logger.exception("Envoi de l'alerte %s impossible.", alert.pk)
                    run.failed += 1
                    continue
                if sending is not None:
                    run.emails += 1
                    run.listings += sending.listing_count
                    run.sending_ids.append(sending.pk)
    if run.emails or run.failed:
        log_action(
            actor=None,
            verb="exchange.alerts.sent",
            data={"due": run.due, "emails": run.emails, "failed": run.failed},
        )
    return run


def structures_of(user) -> list[Structure]:
    """The structures ``user`` belongs to (choices for an alert's place)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Structure.objects.filter(memberships__user=user).select_related("commune").order_by("name"))
