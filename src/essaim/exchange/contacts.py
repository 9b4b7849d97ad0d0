"""Putting structures in touch: match records, their conversation, introductions and suggestion digests.

Every write goes through these functions (audit log, emails queued in the caller's transaction). A match
joins a listing and the structure that could answer it (through its own listing, or its card). Its
lifecycle is ``MATCH_TRANSITIONS``: suggested -> contacted -> in discussion -> agreed -> done, or declined
(with a reason) from any open state.

Email privacy: the person who writes first never sees the other side's addresses; once both structures
have written in the conversation (``revealed_at``), each side sees the other's contact emails.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from essaim.actors.models import Membership, Structure
from essaim.core.audit import log_action
from essaim.core.site import site_url as default_site_url
from essaim.exchange.models import (
    MATCH_TRANSITIONS,
    ContactMessage,
    Listing,
    ListingStatus,
    Match,
    MatchDigestOptOut,
    MatchStatus,
)

MESSAGE_MIN_LENGTH = 10
MESSAGE_MAX_LENGTH = 4000
REASON_MAX_LENGTH = 500
DIGEST_UNSUBSCRIBE_SALT = "essaim.exchange.match_digest.unsubscribe"


# -- Helpers -------------------------------------------------------------------------------------------------


def _active_member_users(structure_ids):
    return Membership.objects.filter(
        structure_id__in=structure_ids, user__is_active=True, user__deactivated_at__isnull=True
    ).select_related("user")


def structure_recipients(structure: Structure) -> list[str]:
    """Addresses to tell about a conversation: the active members' emails; the card's public email only when
    the structure has no active member (they must claim the card to answer). Sorted, no duplicates."""
    emails = {m.user.email for m in _active_member_users([structure.pk]) if m.user.email}
    if not emails and structure.email:
        emails = {structure.email.lower()}
    return sorted(emails)


def clean_message(body: str) -> str:
    """The message stripped of surrounding blanks; raises ValidationError (French) when too short or long.

    Messages are plain text: templates escape them, nothing is interpreted."""
    body = (body or "").replace("\r\n", "\n").strip()
    if len(body) < MESSAGE_MIN_LENGTH:
        raise ValidationError(
            {"body": f"Écrivez un message d'au moins {MESSAGE_MIN_LENGTH} caractères."}, code="too_short"
        )
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ValidationError(
            {
                "body": f"Le message ne peut dépasser {MESSAGE_MAX_LENGTH} caractères "
                + f"(il en compte {len(body)})."
            },
            code="too_long",
        )
    return body


def conversation_url(match: Match, base_url: str = "") -> str:
    return (base_url or default_site_url()).rstrip("/") + reverse("exchange:match_detail", args=[match.pk])


def _member_of(user, structure_id) -> bool:
    return Membership.objects.filter(user=user, structure_id=structure_id).exists()


def _send_conversation_email(
    *, match: Match, to_structures: list[Structure], subject: str, template: str, context: dict, base_url: str
) -> int:
    """Queue one email per recipient structure (never revealing anyone's address to the others)."""
    sent = 0
    context = {
        **context,
        "match": match,
        "site_name": settings.ESSAIM_SITE_NAME,
        "conversation_url": conversation_url(match, base_url),
    }
    for structure in to_structures:
        recipients = structure_recipients(structure)
        if not recipients:
            continue
        body = render_to_string(template, {**context, "recipient_structure": structure})
        # Bcc: the members of one structure do not necessarily know each other's addresses either.
        EmailMessage(
            subject=subject, body=body, bcc=recipients, headers={"Auto-Submitted": "auto-generated"}
        ).send()
        sent += 1
    return sent


def _lock(match: Match) -> Match:
    return Match.objects.select_for_update().select_related("listing", "listing_structure").get(pk=match.pk)


def _check_transition(match: Match, status: str) -> None:
    if status not in MATCH_TRANSITIONS[match.status]:
        raise ValidationError(
            {
                "status": f"Impossible de passer de « {match.get_status_display()} » à "
                f"« {MatchStatus(status).label} »."
            }
        )


def _set_status(match: Match, status: str, actor, *, reason: str = "", extra_fields=()) -> None:
    _check_transition(match, status)
    old = match.status
    match.status = status
    fields = ["status", "updated_at", *extra_fields]
    if status == MatchStatus.DECLINED:
        match.decline_reason = reason
        fields.append("decline_reason")
    match.full_clean(exclude=["listing", "listing_structure", "counterpart_structure", "counterpart_listing"])
    match.save(update_fields=fields)
    data = {"from": old, "to": status}
    if reason:
        data["reason"] = reason
    log_action(actor=actor, verb=f"exchange.match.{status}", obj=match, data=data)


# -- Lifecycle -----------------------------------------------------------------------------------------------


@transaction.atomic
def match_transition(*, match: Match, status: str, actor, reason: str = "") -> Match:
    """Move a match to ``status`` (in discussion, agreed, done, declined). Declining needs a reason.

    Raises ValidationError (French) for a transition ``MATCH_TRANSITIONS`` forbids or a missing reason."""
    if status not in MatchStatus.values:
        raise ValidationError({"status": "État de mise en relation inconnu."})
    reason = (reason or "").strip()
    if status == MatchStatus.DECLINED and not reason:
        raise ValidationError({"reason": "Indiquez le motif du refus."})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"Le motif ne peut dépasser {REASON_MAX_LENGTH} caractères."})
    match = _lock(match)
    _set_status(match, status, actor, reason=reason if status == MatchStatus.DECLINED else "")
    return match


# Why a listing's open matches end when it closes (MatchStatus.DECLINED needs a reason).
LISTING_CLOSED_REASONS = {
    ListingStatus.FULFILLED: "Annonce close : satisfaite.",
    ListingStatus.WITHDRAWN: "Annonce close : retirée.",
    ListingStatus.EXPIRED: "Annonce close : expirée.",
}


def matches_close_for_listings(
    *, listing_ids, status: str, actor, now: datetime.datetime | None = None
) -> int:
    """End the open matches of listings just closed with ``status`` (either orientation): "agreed" ones of a
    fulfilled listing become "done" (the agreement is what fulfilled it), every other open one is declined
    with the reason « Annonce close : … ». Called by the listing services inside their transaction (the
    rows are locked first so that a concurrent answer cannot move them meanwhile). Returns how many."""
    from django.db.models import Q

    listing_ids = list(listing_ids)
    if not listing_ids:
        return 0
    now = now or timezone.now()
    ids = list(
        Match.objects.open()
        .filter(Q(listing_id__in=listing_ids) | Q(counterpart_listing_id__in=listing_ids))
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    done = 0
    if status == ListingStatus.FULFILLED:
        done = Match.objects.filter(pk__in=ids, status=MatchStatus.AGREED).update(
            status=MatchStatus.DONE, updated_at=now
        )
    declined = (
        Match.objects.filter(pk__in=ids)
        .exclude(status__in=(MatchStatus.DONE, MatchStatus.DECLINED))
        .update(status=MatchStatus.DECLINED, decline_reason=LISTING_CLOSED_REASONS[status], updated_at=now)
    )
    log_action(
        actor=actor,
        verb="exchange.matches.closed_with_listing",
        data={
            "listings": listing_ids[:100],
            "status": status,
            "done": done,
            "declined": declined,
            "ids": ids[:100],
        },
    )
    return done + declined


def _open_match_locked(listing: Listing, structure: Structure) -> Match | None:
    return (
        Match.objects.open()
        .between(listing, structure)
        .select_for_update()
        .select_related("listing", "listing_structure")
        .order_by("pk")
        .first()
    )


def _create_match(**fields) -> Match:
    """Create a match; a concurrent creation of the same open pair raises ValidationError (French)."""
    try:
        with transaction.atomic():
            return Match.objects.create(**fields)
    except IntegrityError as exc:
        raise ValidationError(
            "Une mise en relation vient d'être ouverte entre cette annonce et cette structure : "
            "rechargez la page."
        ) from exc


def _post(match: Match, *, author, author_structure: Structure | None, body: str) -> ContactMessage:
    """Store a message; reveal the addresses once both structures have written; a reply of the contacted
    side moves a "contacted" match to "in discussion"."""
    message = ContactMessage.objects.create(
        match=match, author=author, author_structure=author_structure, body=body
    )
    if match.revealed_at is None and author_structure is not None:
        writers = set(
            match.messages.exclude(author_structure=None).values_list("author_structure_id", flat=True)
        )
        if match.structure_ids() <= writers:
            match.revealed_at = timezone.now()
            match.save(update_fields=["revealed_at", "updated_at"])
            log_action(actor=author, verb="exchange.match.revealed", obj=match)
            if match.status == MatchStatus.CONTACTED:
                _set_status(match, MatchStatus.DISCUSSING, author)
    return message


@transaction.atomic
def contact_send(
    *, listing: Listing, sender_structure: Structure, actor, body: str, site_url: str = ""
) -> tuple[Match, ContactMessage]:
    """« Entrer en relation » : ``actor``, member of ``sender_structure``, writes to ``listing``'s structure.

    Opens a match at "contacted" (or advances the suggested one of the pair, or adds the message to the
    ongoing conversation) and emails the recipient structure a link to the conversation (not the sender's
    address). Raises ValidationError (French) for a bad message, a listing not published, writing to one's
    own structure or as a structure one does not belong to.
    """
    body = clean_message(body)
    listing = Listing.objects.select_for_update().select_related("structure").get(pk=listing.pk)
    if listing.status != ListingStatus.PUBLISHED or listing.hidden_at is not None:
        raise ValidationError("Cette annonce n'est plus publiée : il n'est plus possible d'y répondre.")
    if sender_structure.pk == listing.structure_id:
        raise ValidationError(
            {"structure": "Vous ne pouvez pas entrer en relation avec votre propre structure."}
        )
    if not _member_of(actor, sender_structure.pk):
        raise ValidationError({"structure": "Vous n'êtes pas membre de cette structure."})
    match = _open_match_locked(listing, sender_structure)
    if match is None:
        match = _create_match(
            listing=listing,
            listing_structure=listing.structure,
            counterpart_structure=sender_structure,
            status=MatchStatus.CONTACTED,
            initiator_structure=sender_structure,
            initiated_by=actor,
            digest_sent_at=timezone.now(),
        )
        log_action(
            actor=actor,
            verb="exchange.match.contacted",
            obj=match,
            data={"from": None, "to": MatchStatus.CONTACTED, "structure": sender_structure.pk},
        )
    elif match.status == MatchStatus.SUGGESTED:
        match.initiator_structure, match.initiated_by = sender_structure, actor
        _set_status(match, MatchStatus.CONTACTED, actor, extra_fields=["initiator_structure", "initiated_by"])
    first = not match.messages.exists()
    message = _post(match, author=actor, author_structure=sender_structure, body=body)
    other = (
        match.counterpart_structure
        if sender_structure.pk == match.listing_structure_id
        else listing.structure
    )
    _send_conversation_email(
        match=match,
        to_structures=[other],
        subject=(
            f"{sender_structure.name} souhaite entrer en relation avec vous"
            if first
            else f"Nouveau message de {sender_structure.name}"
        ),
        template="exchange/contact_email.txt",
        context={
            "listing": listing,
            "sender_structure": sender_structure,
            "message": message,
            "first": first,
        },
        base_url=site_url,
    )
    return match, message


@transaction.atomic
def match_reply(
    *, match: Match, actor, author_structure: Structure | None, body: str, site_url: str = ""
) -> ContactMessage:
    """Write in a match's conversation, for ``author_structure`` (one of its two sides) or, for a facilitator,
    for nobody (None). Emails the other side(s). Raises ValidationError when the match is closed, the
    message is invalid or the author does not belong to ``author_structure``."""
    body = clean_message(body)
    match = _lock(match)
    if not match.is_open:
        raise ValidationError("Cette mise en relation est close : il n'est plus possible d'y écrire.")
    if author_structure is not None:
        if author_structure.pk not in match.structure_ids():
            raise ValidationError({"structure": "Cette structure ne participe pas à cette mise en relation."})
        if not _member_of(actor, author_structure.pk):
            raise ValidationError({"structure": "Vous n'êtes pas membre de cette structure."})
    elif not getattr(actor, "is_facilitator", False):
        raise ValidationError({"structure": "Choisissez au nom de quelle structure vous écrivez."})
    if match.status == MatchStatus.SUGGESTED and author_structure is not None:
        match.initiator_structure, match.initiated_by = author_structure, actor
        _set_status(match, MatchStatus.CONTACTED, actor, extra_fields=["initiator_structure", "initiated_by"])
    message = _post(match, author=actor, author_structure=author_structure, body=body)
    log_action(actor=actor, verb="exchange.match.message", obj=match, data={"message": message.pk})
    sides = Structure.objects.filter(pk__in=match.structure_ids()).order_by("pk")
    to = [s for s in sides if author_structure is None or s.pk != author_structure.pk]
    writer = author_structure.name if author_structure else "L'équipe d'animation"
    _send_conversation_email(
        match=match,
        to_structures=to,
        subject=f"Nouveau message de {writer}",
        template="exchange/contact_email.txt",
        context={
            "listing": match.listing,
            "sender_structure": author_structure,
            "message": message,
            "first": False,
        },
        base_url=site_url,
    )
    return message


@transaction.atomic
def match_introduce(
    *, listing: Listing, counterpart_listing: Listing, broker, body: str, site_url: str = ""
) -> Match:
    """A facilitator introduces the structures of two listings to each other: the match (brokered, at
    "contacted") carries their message, and both sides are emailed. Raises ValidationError (French) when
    the listings belong to the same structure or are not published, or a conversation is already going on.
    """
    if not getattr(broker, "is_facilitator", False):
        raise ValidationError("Seule l'équipe d'animation peut présenter deux structures.")
    body = clean_message(body)
    listing = Listing.objects.select_for_update().select_related("structure").get(pk=listing.pk)
    other = Listing.objects.select_related("structure").get(pk=counterpart_listing.pk)
    if listing.structure_id == other.structure_id:
        raise ValidationError("Ces deux annonces sont celles d'une même structure.")
    if any(x.status != ListingStatus.PUBLISHED or x.hidden_at is not None for x in (listing, other)):
        raise ValidationError("Les deux annonces doivent être publiées.")
    match = _open_match_locked(listing, other.structure) or _open_match_locked(other, listing.structure)
    if match is not None and match.status != MatchStatus.SUGGESTED:
        raise ValidationError("Ces deux structures sont déjà en relation à propos de cette annonce.")
    if match is None:
        match = _create_match(
            listing=listing,
            listing_structure=listing.structure,
            counterpart_listing=other,
            counterpart_structure=other.structure,
            status=MatchStatus.CONTACTED,
            broker=broker,
            digest_sent_at=timezone.now(),
        )
        log_action(
            actor=broker,
            verb="exchange.match.introduced",
            obj=match,
            data={"from": None, "to": MatchStatus.CONTACTED, "counterpart_listing": other.pk},
        )
    else:
        match.broker = broker
        _set_status(match, MatchStatus.CONTACTED, broker, extra_fields=["broker"])
        log_action(
            actor=broker, verb="exchange.match.introduced", obj=match, data={"counterpart_listing": other.pk}
        )
    message = _post(match, author=broker, author_structure=None, body=body)
    sides = list(Structure.objects.filter(pk__in=match.structure_ids()).order_by("pk"))
    _send_conversation_email(
        match=match,
        to_structures=sides,
        subject="L'équipe d'animation vous présente une structure",
        template="exchange/match_introduction_email.txt",
        context={"listing": match.listing, "other_listing": match.counterpart_listing, "message": message},
        base_url=site_url,
    )
    return match


# -- Suggestions recorded as matches, and their digest ------------------------------------------------------


def notify_threshold() -> float:
    return float(getattr(settings, "ESSAIM_MATCH_NOTIFY_SCORE", 7))


@transaction.atomic
def matches_refresh_for(*, listing: Listing, threshold: float | None = None) -> list[Match]:
    """Record as "suggested" matches the suggestions of ``listing`` scoring at least ``threshold`` (settings
    ``ESSAIM_MATCH_NOTIFY_SCORE`` by default) that no match of the same pair (any state, either orientation)
    records yet; returns the new ones. Does nothing for a listing that is not published."""
    from essaim.exchange.matching import listing_suggestions

    # Locked: a listing closed meanwhile (its open matches declined) must not get new suggestions after it.
    listing = Listing.objects.select_for_update().select_related("structure").get(pk=listing.pk)
    if listing.status != ListingStatus.PUBLISHED:
        return []
    threshold = notify_threshold() if threshold is None else threshold
    created = []
    for suggestion in listing_suggestions(listing=listing):
        if suggestion.score < threshold:
            continue
        other = getattr(suggestion, "listing", None)
        structure = other.structure if other is not None else getattr(suggestion, "structure", None)
        if structure is None or structure.pk == listing.structure_id:
            continue
        if Match.objects.between(listing, structure).exists():
            continue
        if other is not None and Match.objects.between(other, listing.structure).exists():
            continue
        try:
            with transaction.atomic():
                match = Match.objects.create(
                    listing=listing,
                    listing_structure=listing.structure,
                    counterpart_listing=other,
                    counterpart_structure=structure,
                    status=MatchStatus.SUGGESTED,
                    score=round(suggestion.score, 2),
                    reasons=list(suggestion.reasons),
                )
        except IntegrityError:
            continue  # recorded meanwhile by a concurrent refresh
        created.append(match)
    if created:
        log_action(
            actor=None,
            verb="exchange.matches.suggested",
            obj=listing,
            data={"count": len(created), "ids": [m.pk for m in created]},
        )
    return created


def digest_unsubscribe_token(user) -> str:
    return signing.dumps({"u": user.pk}, salt=DIGEST_UNSUBSCRIBE_SALT)


def digest_unsubscribe_user(token: str):
    """The user a signed unsubscribe link designates, or None for a forged link."""
    from django.contrib.auth import get_user_model

    try:
        payload = signing.loads(token, salt=DIGEST_UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return get_user_model().objects.filter(pk=payload.get("u")).first()


@transaction.atomic
def match_digest_opt_out(*, user) -> bool:
    """Stop the emails of new suggestions to ``user``; False when they had already opted out."""
    _, created = MatchDigestOptOut.objects.get_or_create(user=user)
    if created:
        log_action(actor=user, verb="exchange.match_digest.opted_out", obj=user)
    return created


@dataclass
class DigestItem:
    match: Match
    own_listing: Listing | None
    other_listing: Listing | None
    other_structure: Structure


# People per transaction when sending the digests: short write transactions (SQLite locks the whole database
# while one runs), each queueing its emails when it commits.
DIGEST_CHUNK = 500
IN_CHUNK = 5000


def _digest_message(user, items: list[DigestItem], base: str) -> EmailMessage:
    unsubscribe = base + reverse("exchange:match_digest_unsubscribe", args=[digest_unsubscribe_token(user)])
    body = render_to_string(
        "exchange/match_digest_email.txt",
        {
            "user": user,
            "items": items,
            "base_url": base,
            "unsubscribe_url": unsubscribe,
            "site_name": settings.ESSAIM_SITE_NAME,
        },
    )
    count = len(items)
    subject = (
        "Une nouvelle suggestion de mise en relation"
        if count == 1
        else f"{count} nouvelles suggestions de mise en relation"
    )
    return EmailMessage(
        subject=subject,
        body=body,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )


def match_digests_send(*, now: datetime.datetime | None = None, base_url: str = "") -> int:
    """Email each person concerned one digest of the new suggestions of their structures (both sides of each
    suggested match not yet notified). People who opted out get nothing. Returns the number of emails queued.

    The matches are first claimed (marked notified at ``now`` in one UPDATE), so two runs never send the same
    suggestion twice; the emails are then queued by chunks of people, each in its own short transaction.
    """
    now = now or timezone.now()
    claimed = Match.objects.filter(status=MatchStatus.SUGGESTED, digest_sent_at__isnull=True).update(
        digest_sent_at=now
    )
    if not claimed:
        return 0
    matches = list(
        Match.objects.filter(status=MatchStatus.SUGGESTED, digest_sent_at=now)
        .select_related("listing", "counterpart_listing", "listing_structure", "counterpart_structure")
        .order_by("pk")
    )
    structure_ids = sorted({sid for m in matches for sid in m.structure_ids()})
    opted_out = set(MatchDigestOptOut.objects.values_list("user_id", flat=True))
    members = defaultdict(list)
    for start in range(0, len(structure_ids), IN_CHUNK):
        for membership in _active_member_users(structure_ids[start : start + IN_CHUNK]):
            if membership.user_id not in opted_out and membership.user.email:
                members[membership.structure_id].append(membership.user)
    per_user: dict[int, tuple] = {}
    for match in matches:
        sides = (
            (
                match.listing_structure_id,
                match.listing,
                match.counterpart_listing,
                match.counterpart_structure,
            ),
            (
                match.counterpart_structure_id,
                match.counterpart_listing,
                match.listing,
                match.listing_structure,
            ),
        )
        for structure_id, own, other, other_structure in sides:
            for user in members.get(structure_id, ()):
                _, items, seen = per_user.setdefault(user.pk, (user, [], set()))
                # A person member of both structures hears of the match once, from the listing's side.
                if match.pk not in seen:
                    seen.add(match.pk)
                    items.append(DigestItem(match, own, other, other_structure))
    base = (base_url or default_site_url()).rstrip("/")
    recipients = list(per_user.values())
    for start in range(0, len(recipients), DIGEST_CHUNK):
        with transaction.atomic():
            for user, items, _ in recipients[start : start + DIGEST_CHUNK]:
                _digest_message(user, items, base).send()
    log_action(
        actor=None, verb="exchange.match_digest.sent", data={"emails": len(recipients), "matches": claimed}
    )
    return len(recipients)


# -- What each viewer may see -------------------------------------------------------------------------------


def visible_email(match: Match, message: ContactMessage, viewer) -> str:
    """The author's address as ``viewer`` may see it next to ``message``: always for the author themself,
    facilitators and the brokered introduction's author; the first writer's address is shown to the other
    side (they chose to write); the other side's only once revealed (both have written). Else ""."""
    author = message.author
    if author is None or not author.email:
        return ""
    if getattr(viewer, "is_facilitator", False) or author.pk == getattr(viewer, "pk", None):
        return author.email
    if message.author_structure_id is None:  # a facilitator's introduction
        return author.email
    if match.revealed_at is not None:
        return author.email
    if match.initiator_structure_id and message.author_structure_id == match.initiator_structure_id:
        return author.email
    return ""
