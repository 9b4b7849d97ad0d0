"""Writes of offers and needs: every change goes through these functions (and into the audit log)."""

import calendar
import datetime
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from essaim.actors.models import Structure, Theme
from essaim.core.audit import log_action
from essaim.core.site import site_url
from essaim.core.text import normalize
from essaim.exchange.contacts import _active_member_users, matches_close_for_listings
from essaim.exchange.models import LISTING_TRANSITIONS, Listing, ListingStatus, Terms
from essaim.exchange.search import listings_reindex

CLOSED_STATUSES = (ListingStatus.FULFILLED, ListingStatus.WITHDRAWN, ListingStatus.EXPIRED)

# A published listing leaves the public list this many months after publication.
LIFETIME_MONTHS = 3

EDITABLE_FIELDS = frozenset(
    {
        "direction",
        "kind",
        "title",
        "description",
        "quantity",
        "unit",
        "available_from",
        "available_until",
        "terms",
        "price_cents",
        "radius_km",
    }
)


def default_expiry(published_at: datetime.datetime) -> datetime.datetime:
    """Three calendar months after ``published_at`` (31 May -> 31 August, 30 November -> 28/29 February)."""
    month_index = published_at.month - 1 + LIFETIME_MONTHS
    year, month = published_at.year + month_index // 12, month_index % 12 + 1
    day = min(published_at.day, calendar.monthrange(year, month)[1])
    return published_at.replace(year=year, month=month, day=day)


def _check(listing: Listing) -> None:
    """Validate fields and constraints; raises ValidationError with French messages."""
    if listing.terms != Terms.PAID:
        # A price left over from "payant" would break the constraint: it means nothing any more.
        listing.price_cents = None
    listing.full_clean(exclude=["search_title", "created_by", "structure"])


def _unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")


@transaction.atomic
def listing_create(
    *, structure: Structure, actor, themes: Iterable[Theme] | None = None, **fields: Any
) -> Listing:
    """Create a draft listing of ``structure``. Raises ValidationError (French messages) on bad input."""
    _unknown(fields)
    listing = Listing(structure=structure, created_by=actor if _is_user(actor) else None, **fields)
    listing.search_title = normalize(listing.title)
    _check(listing)
    listing.save()
    if themes is not None:
        listing.themes.set(themes)
    listings_reindex(ids=[listing.pk])
    log_action(actor=actor, verb="exchange.listing.created", obj=listing, data={"structure": structure.pk})
    return listing


def _is_user(actor) -> bool:
    return bool(actor is not None and getattr(actor, "is_authenticated", False))


@transaction.atomic
def listing_update(
    *, listing: Listing, actor, themes: Iterable[Theme] | None = None, **fields: Any
) -> Listing:
    """Change the given fields of a listing still open (draft or published). Raises ValidationError."""
    _unknown(fields)
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status not in (ListingStatus.DRAFT, ListingStatus.PUBLISHED):
        raise ValidationError("Cette annonce est close : elle ne peut plus être modifiée.")
    changed = [name for name, value in fields.items() if getattr(listing, name) != value]
    for name, value in fields.items():
        setattr(listing, name, value)
    listing.search_title = normalize(listing.title)
    _check(listing)
    listing.save(update_fields=[*fields, "search_title", "price_cents", "updated_at"])
    if themes is not None:
        listing.themes.set(themes)
        changed.append("themes")
    listings_reindex(ids=[listing.pk])
    log_action(actor=actor, verb="exchange.listing.updated", obj=listing, data={"fields": sorted(changed)})
    if listing.status == ListingStatus.PUBLISHED:
        _refresh_matches_on_commit(listing)
    return listing


def _refresh_matches_on_commit(listing: Listing) -> None:
    """New strong suggestions become match records (exchange.contacts), in a task once the change commits."""
    from essaim.exchange.tasks import refresh_listing_matches

    transaction.on_commit(lambda: refresh_listing_matches(listing.pk), robust=True)


def _transition(listing: Listing, status: str, actor, **extra: Any) -> Listing:
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if status not in LISTING_TRANSITIONS[listing.status]:
        raise ValidationError(
            {
                "status": f"Impossible de passer de « {listing.get_status_display()} » à "
                f"« {ListingStatus(status).label} »."
            }
        )
    old = listing.status
    listing.status = status
    for name, value in extra.items():
        setattr(listing, name, value)
    listing.save(update_fields=["status", *extra, "updated_at"])
    log_action(actor=actor, verb=f"exchange.listing.{status}", obj=listing, data={"from": old, "to": status})
    if status in CLOSED_STATUSES:
        matches_close_for_listings(listing_ids=[listing.pk], status=status, actor=actor)
    return listing


@transaction.atomic
def listing_publish(*, listing: Listing, actor, now: datetime.datetime | None = None) -> Listing:
    """Publish a draft; it expires three months later. Raises ValidationError if it is not a draft."""
    now = now or timezone.now()
    listing = _transition(
        listing, ListingStatus.PUBLISHED, actor, published_at=now, expires_at=default_expiry(now)
    )
    _refresh_matches_on_commit(listing)
    return listing


@transaction.atomic
def listing_withdraw(*, listing: Listing, actor) -> Listing:
    """Withdraw a draft or published listing. Raises ValidationError if it is already closed."""
    return _transition(listing, ListingStatus.WITHDRAWN, actor)


@transaction.atomic
def listing_fulfil(*, listing: Listing, actor) -> Listing:
    """Mark a published listing as fulfilled. Raises ValidationError otherwise."""
    return _transition(listing, ListingStatus.FULFILLED, actor)


@transaction.atomic
def listing_extend(*, listing: Listing, actor, now: datetime.datetime | None = None) -> Listing:
    """Keep a published listing listed for three more months from now (a new expiry reminder will come).

    Raises ValidationError (French) when the listing is not published."""
    now = now or timezone.now()
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status != ListingStatus.PUBLISHED:
        raise ValidationError({"status": "Seule une annonce publiée peut être prolongée."})
    old = listing.expires_at
    listing.expires_at = default_expiry(now)
    listing.expiry_reminded_at = None
    listing.save(update_fields=["expires_at", "expiry_reminded_at", "updated_at"])
    log_action(
        actor=actor,
        verb="exchange.listing.extended",
        obj=listing,
        data={"from": old.isoformat() if old else None, "to": listing.expires_at.isoformat()},
    )
    return listing


# Posters are told this long before their listing leaves the public list.
EXPIRY_REMINDER_DAYS = 7


def _poster_emails(listing: Listing) -> list[str]:
    """The active members of the listing's structure and whoever created it (a facilitator, say)."""
    emails = {m.user.email for m in _active_member_users([listing.structure_id]) if m.user.email}
    creator = listing.created_by
    if creator is not None and creator.is_active and creator.email:
        emails.add(creator.email)
    return sorted(emails)


@transaction.atomic
def listings_remind_expiring(*, now: datetime.datetime | None = None) -> int:
    """Email the posters of published listings expiring within EXPIRY_REMINDER_DAYS, once per listing (until
    it is extended), with links to extend or close it; returns how many listings were reminded."""
    now = now or timezone.now()
    due = list(
        Listing.objects.published()
        .filter(
            expires_at__gt=now,
            expires_at__lte=now + datetime.timedelta(days=EXPIRY_REMINDER_DAYS),
            expiry_reminded_at__isnull=True,
            hidden_at__isnull=True,
        )
        .select_for_update(of=("self",))
        .select_related("structure", "created_by")
    )
    for listing in due:
        recipients = _poster_emails(listing)
        if recipients:
            body = render_to_string(
                "exchange/listing_expiry_email.txt",
                {
                    "listing": listing,
                    "site_name": settings.ESSAIM_SITE_NAME,
                    "listing_url": site_url() + reverse("exchange:detail", args=[listing.pk]),
                },
            )
            EmailMessage(
                subject=f"Votre annonce « {listing.title} » expire bientôt",
                body=body,
                bcc=recipients,
                headers={"Auto-Submitted": "auto-generated"},
            ).send()
    if due:
        Listing.objects.filter(pk__in=[listing.pk for listing in due]).update(expiry_reminded_at=now)
        log_action(
            actor=None,
            verb="exchange.listings.expiry_reminded",
            data={"count": len(due), "ids": [listing.pk for listing in due][:100]},
        )
    return len(due)


@transaction.atomic
def listings_expire(*, now: datetime.datetime | None = None) -> int:
    """Mark expired every published listing whose expiry date has passed; returns how many."""
    now = now or timezone.now()
    ids = list(
        Listing.objects.published()
        .filter(expires_at__lte=now)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    Listing.objects.filter(pk__in=ids).update(status=ListingStatus.EXPIRED, updated_at=now)
    matches_close_for_listings(listing_ids=ids, status=ListingStatus.EXPIRED, actor=None, now=now)
    log_action(actor=None, verb="exchange.listings.expired", data={"count": len(ids), "ids": ids[:100]})
    return len(ids)
