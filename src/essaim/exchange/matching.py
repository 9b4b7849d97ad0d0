"""Suggestions of counterpart listings for one listing (needs for an offer, offers for a need).

An explicit service (no signal): the caller asks for the suggestions of a listing when it shows them.
Candidates are the listed counterparts of the same kind; each one is scored on shared themes, shared words
of title and description, distance within both radii and overlapping time windows, and carries the French
reasons of its score.
"""

import datetime
import math
from dataclasses import dataclass, field

from django.utils import formats

from essaim.core.text import normalize
from essaim.exchange.models import Direction, Listing

# Short French words that say nothing about what is offered or needed.
_STOP_WORDS_TEXT = """
a au aux avec ce ces cet cette dans de des du en et la le les leur leurs l d un une pour par sur sous
ou qui que quoi nous vous ils elles il elle on son sa ses notre nos votre vos est sont pas plus tres
tout tous toute toutes y se ne chez entre afin etc
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

WEIGHT_SAME_KIND = 3.0
WEIGHT_THEME = 2.0
WEIGHT_WORD = 1.0
WEIGHT_NEAR = 2.0
WEIGHT_WINDOW = 1.0
EARTH_RADIUS_KM = 6371.0


@dataclass
class Suggestion:
    listing: Listing
    score: float
    reasons: list[str] = field(default_factory=list)
    distance_km: float | None = None


def words(text: str) -> set[str]:
    """Normalised words of ``text`` worth comparing: no stop words, no one- or two-letter words."""
    return {word for word in normalize(text).split() if len(word) > 2 and word not in STOP_WORDS}


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _window(listing: Listing) -> tuple[datetime.date, datetime.date]:
    return (listing.available_from or datetime.date.min, listing.available_until or datetime.date.max)


def _month_label(day: datetime.date) -> str:
    return formats.date_format(day, "F Y")


def listing_suggestions(*, listing: Listing, limit: int = 10) -> list[Suggestion]:
    """The best ``limit`` listed counterparts of ``listing``, best first, each with its French reasons.

    Counterparts too far away (beyond either listing's radius) or with no overlapping time window are left
    out; when either structure has no known point the distance is simply not scored.
    """
    counterpart = Direction.NEED if listing.direction == Direction.OFFER else Direction.OFFER
    candidates = (
        Listing.objects.listed()
        .filter(direction=counterpart, kind=listing.kind)
        .exclude(structure_id=listing.structure_id)
        .select_related("structure__commune")
        .prefetch_related("themes")
    )
    own_themes = {theme.pk: theme.label for theme in listing.themes.all()}
    own_words = words(f"{listing.title} {listing.description}")
    own_point = listing.structure.point
    own_start, own_end = _window(listing)

    suggestions = []
    for other in candidates:
        score, reasons = WEIGHT_SAME_KIND, [f"même type : {other.get_kind_display().lower()}"]
        shared = sorted(own_themes[t.pk] for t in other.themes.all() if t.pk in own_themes)
        if shared:
            score += WEIGHT_THEME * len(shared)
            label = "même thème" if len(shared) == 1 else "mêmes thèmes"
            reasons.append(f"{label} : {', '.join(s.lower() for s in shared)}")
        common = sorted(own_words & words(f"{other.title} {other.description}"))
        if common:
            score += WEIGHT_WORD * len(common)
            reasons.append(f"mots en commun : {', '.join(common[:5])}")
        distance = None
        other_point = other.structure.point
        if own_point and other_point:
            distance = haversine_km(own_point, other_point)
            if distance > min(listing.radius_km, other.radius_km):
                continue
            # Closer is better: full weight next door, none at the edge of the smaller radius.
            reach = max(min(listing.radius_km, other.radius_km), 1)
            score += WEIGHT_NEAR * (1 - distance / reach)
            reasons.append(f"à {round(distance)} km")
        other_start, other_end = _window(other)
        start, end = max(own_start, other_start), min(own_end, other_end)
        if start > end:
            continue
        if start != datetime.date.min or end != datetime.date.max:
            score += WEIGHT_WINDOW
            if start != datetime.date.min:
                reasons.append(f"disponible en {_month_label(start)}")
            else:
                reasons.append(f"disponible jusqu'en {_month_label(end)}")
        suggestions.append(Suggestion(listing=other, score=score, reasons=reasons, distance_km=distance))
    suggestions.sort(
        key=lambda s: (-s.score, s.distance_km if s.distance_km is not None else math.inf, s.listing.pk)
    )
    return suggestions[:limit]
