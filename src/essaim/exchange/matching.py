"""Suggestions for one listing: counterpart listings (needs for an offer, offers for a need) and
structures whose card suggests they could answer.

An explicit service (no signal): the caller asks for the suggestions of a listing when it shows them.
Listing candidates are the listed counterparts of the same kind near enough (a bounding box on the
listings' stored points first); each one is scored on shared themes, shared words of title and
description (French stems, and words made equivalent by a synonym group: « local ≈ salle »), distance
within both radii and overlapping time windows, and carries the French reasons of its score. Structure
candidates come from the Annuaire's full-text index (``essaim.actors.search``) within the listing's radius.
"""

import datetime
import json
import math
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BooleanField, Exists, F, FloatField, OuterRef, Q
from django.utils import formats

from essaim.actors.search import STRUCTURE_INDEX, OwnTableSQL, rank_documents, stem
from essaim.core.planner import estimated_rows
from essaim.core.text import normalize
from essaim.exchange.models import Direction, Kind, Listing
from essaim.exchange.search import Synonyms, current_synonyms, expanded_filter, postgres_expression

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
WEIGHT_SYNONYM = 0.75
WEIGHT_NEAR = 2.0
WEIGHT_WINDOW = 1.0
EARTH_RADIUS_KM = 6371.0
# Candidates read at most (listings of the same kind in the box; cards matching the text or a theme).
MAX_LISTING_CANDIDATES = 2000
MAX_STRUCTURE_CANDIDATES = 200
# Cards of a box tested against the listing's words at most (the densest 5 km boxes hold about 4,000).
MAX_STRUCTURE_SCAN = 5000
# Words held by more cards than this nationwide are tested card by card within the box, rarer ones are
# looked up in the text index (see ``_text_candidates``).
COMMON_WORDS_MATCHES = 20_000
# Cards are looked for within the listing's radius, at most this far: beyond, the box of a large radius
# holds a good share of the country's cards, and a card is a weaker lead than a listing.
STRUCTURE_RADIUS_MAX_KM = 30
STRUCTURE_REACH_STEPS_KM = (5, 15)
# Words of a listing sent to the directory's index to find cards (title first, then description).
MAX_CARD_QUERY_WORDS = 6


@dataclass
class Suggestion:
    listing: Listing
    score: float
    reasons: list[str] = field(default_factory=list)
    distance_km: float | None = None


def words(text: str) -> set[str]:
    """Normalised words of ``text`` worth comparing: no stop words, no one- or two-letter words."""
    return {word for word in normalize(text).split() if len(word) > 2 and word not in STOP_WORDS}


def terms(text: str) -> dict[str, str]:
    """{French stem: first word with that stem} of the words of ``text`` worth comparing (see ``words``)."""
    found: dict[str, str] = {}
    for word in normalize(text).split():
        if len(word) > 2 and word not in STOP_WORDS:
            found.setdefault(stem(word), word)
    return found


@dataclass
class TextOverlap:
    """What two texts share: words with the same stem, and pairs of words of one synonym group."""

    common: list[str]  # words of the first text
    close: list[tuple[str, str]]  # (word of the first text, its synonym in the second)

    @property
    def score(self) -> float:
        return WEIGHT_WORD * len(self.common) + WEIGHT_SYNONYM * len(self.close)

    def reasons(self, common_label: str = "mots en commun") -> list[str]:
        reasons = []
        if self.common:
            reasons.append(f"{common_label} : {', '.join(sorted(self.common)[:5])}")
        if self.close:
            pairs = [f"{own} ≈ {other}" for own, other in sorted(self.close)[:3]]
            reasons.append(f"mots proches : {', '.join(pairs)}")
        return reasons


def overlap(own: dict[str, str], other: dict[str, str], synonyms: Synonyms) -> TextOverlap:
    """Compare two ``terms`` mappings: shared stems, then own stems with a synonym among the other's."""
    shared = own.keys() & other.keys()
    close = []
    for token, word in own.items():
        if token in shared:
            continue
        equivalent = synonyms.equivalent(token, other.keys() - shared)
        if equivalent is not None:
            close.append((word, other[equivalent]))
    return TextOverlap(common=[own[token] for token in shared], close=close)


def _box(point: tuple[float, float], radius_km: float) -> tuple[tuple[float, float], tuple[float, float]]:
    lat, lon = point
    dlat = radius_km / 111.2
    dlon = radius_km / max(0.01, 111.2 * math.cos(math.radians(lat)))
    return (lat - dlat, lat + dlat), (lon - dlon, lon + dlon)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _window(listing: Listing) -> tuple[datetime.date, datetime.date]:
    return (listing.available_from or datetime.date.min, listing.available_until or datetime.date.max)


def _month_label(day: datetime.date) -> str:
    return formats.date_format(day, "F Y")


def _themes_reason(shared: list[str]) -> str:
    label = "même thème" if len(shared) == 1 else "mêmes thèmes"
    return f"{label} : {', '.join(s.lower() for s in shared)}"


def _counterpart(listing: Listing) -> str:
    return Direction.NEED if listing.direction == Direction.OFFER else Direction.OFFER


LISTING_COLUMNS = (
    "pk",
    "title",
    "description",
    "radius_km",
    "latitude",
    "longitude",
    "available_from",
    "available_until",
)


def _dates(start, end) -> tuple[datetime.date, datetime.date]:
    return (start or datetime.date.min, end or datetime.date.max)


def listing_suggestions(*, listing: Listing, limit: int = 10) -> list[Suggestion]:
    """The best ``limit`` listed counterparts of ``listing``, best first, each with its French reasons.

    Counterparts too far away (beyond either listing's radius) or with no overlapping time window are left
    out; when either structure has no known point the distance is simply not scored. Candidates are scored
    from a few columns (the listings' stored points); only the best ``limit`` are read as objects.
    """
    candidates = (
        Listing.objects.listed()
        .filter(direction=_counterpart(listing), kind=listing.kind)
        .exclude(structure_id=listing.structure_id)
        .order_by()
    )
    own_point = listing.structure.point
    rows = []
    if own_point is not None:
        # No counterpart farther than the listing's own radius can qualify: only those in its box, and
        # within their own radius north-south (cheap, before any distance), are read; then those without a
        # point (not scored on distance). Two index ranges, not one "OR".
        (lat_min, lat_max), lon_range = _box(own_point, listing.radius_km)
        lat = own_point[0]
        in_box = candidates.filter(
            latitude__range=(lat_min, lat_max),
            longitude__range=lon_range,
            latitude__gte=lat - F("radius_km") / 111.2,
            latitude__lte=lat + F("radius_km") / 111.2,
        )
        rows += list(in_box.values_list(*LISTING_COLUMNS)[:MAX_LISTING_CANDIDATES])
        candidates = candidates.filter(latitude__isnull=True)
    rows += list(candidates.values_list(*LISTING_COLUMNS)[:MAX_LISTING_CANDIDATES])
    themes_of: dict[int, list[int]] = {}
    for listing_id, theme_id in Listing.themes.through.objects.filter(
        listing_id__in=[row[0] for row in rows]
    ).values_list("listing_id", "theme_id"):
        themes_of.setdefault(listing_id, []).append(theme_id)
    own_themes = {theme.pk: theme.label for theme in listing.themes.all()}
    own_terms = terms(f"{listing.title} {listing.description}")
    synonyms = current_synonyms()
    own_start, own_end = _window(listing)
    kind_label = Kind(listing.kind).label.lower()

    scored = []
    for pk, title, description, radius_km, lat, lon, available_from, available_until in rows:
        distance = None
        if own_point and lat is not None and lon is not None:
            distance = haversine_km(own_point, (lat, lon))
            if distance > min(listing.radius_km, radius_km):
                continue
        other_start, other_end = _dates(available_from, available_until)
        start, end = max(own_start, other_start), min(own_end, other_end)
        if start > end:
            continue
        score, reasons = WEIGHT_SAME_KIND, [f"même type : {kind_label}"]
        shared = sorted(own_themes[t] for t in themes_of.get(pk, ()) if t in own_themes)
        if shared:
            score += WEIGHT_THEME * len(shared)
            reasons.append(_themes_reason(shared))
        text = overlap(own_terms, terms(f"{title} {description}"), synonyms)
        score += text.score
        reasons += text.reasons()
        if distance is not None:
            # Closer is better: full weight next door, none at the edge of the smaller radius.
            reach = max(min(listing.radius_km, radius_km), 1)
            score += WEIGHT_NEAR * (1 - distance / reach)
            reasons.append(f"à {round(distance)} km")
        if start != datetime.date.min or end != datetime.date.max:
            score += WEIGHT_WINDOW
            if start != datetime.date.min:
                reasons.append(f"disponible en {_month_label(start)}")
            else:
                reasons.append(f"disponible jusqu'en {_month_label(end)}")
        scored.append((score, distance, pk, reasons))
    scored.sort(key=lambda s: (-s[0], s[1] if s[1] is not None else math.inf, s[2]))
    best = scored[:limit]
    objects = Listing.objects.select_related("structure__commune").in_bulk([pk for _s, _d, pk, _r in best])
    return [
        Suggestion(listing=objects[pk], score=score, reasons=reasons, distance_km=distance)
        for score, distance, pk, reasons in best
        if pk in objects
    ]


@dataclass
class StructureSuggestion:
    structure: object  # actors.Structure
    score: float
    reasons: list[str] = field(default_factory=list)
    distance_km: float | None = None


def _card_query(listing: Listing, synonyms: Synonyms):
    """Groups of alternatives (see ``exchange.search._expanded``) for the words of ``listing``'s title (its
    description's when the title has fewer than two), each with its synonyms; any may match a card."""
    ordered = terms(listing.title)
    if len(ordered) < 2:
        ordered = {**terms(listing.description), **ordered}
    ordered = list(ordered.items())
    groups = []
    for token, word in ordered[:MAX_CARD_QUERY_WORDS]:
        alternatives = [(word, token, False)]
        for other in sorted(synonyms.alternatives(token) - {token}):
            alternatives.append((_word_of(synonyms, other), other, False))
        groups.append(alternatives)
    return groups


def _word_of(synonyms: Synonyms, token: str) -> str:
    for group in synonyms.groups:
        if token in group:
            return group[token]
    return token


def _nearby_structures(point: tuple[float, float], radius_km: float):
    """Published structures in the bounding box of a circle (their own point, else their commune's); the
    exact distance is checked afterwards on the few that match the text."""
    from essaim.actors.models import Structure
    from essaim.territories.models import Commune

    lat_range, lon_range = _box(point, radius_km)
    box = {"latitude__range": lat_range, "longitude__range": lon_range}
    communes = list(Commune.objects.filter(**box).values_list("pk", flat=True))
    # "+latitude": cards without a point are found through the commune index, not by walking every card
    # without a point in the point index (most cards have none).
    no_point = OwnTableSQL('+{table}."latitude" IS NULL', (), output_field=BooleanField())
    return (
        Structure.objects.published().filter(Q(**box) | (Q(no_point) & Q(commune_id__in=communes))).order_by()
    )


def _estimated_matches(groups) -> int:
    """About how many cards hold any word of ``groups`` nationwide: the document counts of the words (SQLite,
    from the FTS vocabulary) or the planner's estimate (PostgreSQL, from the text statistics)."""
    from essaim.actors.models import Structure

    if connection.vendor != "sqlite":
        matches = expanded_filter(Structure.objects.order_by(), STRUCTURE_INDEX, groups, any_group=True)
        return estimated_rows(matches.queryset)
    stems = sorted({token for alternatives in groups for _word, token, _prefix in alternatives})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUM(doc) FROM {STRUCTURE_INDEX.terms_table} "  # noqa: S608 (name from TextIndex)
            f"WHERE term IN ({', '.join(['%s'] * len(stems))})",
            stems,
        )
        return int(cursor.fetchone()[0] or 0)


def _text_candidates(nearby, groups, limit: int, box, exclude: int, *, common: bool) -> list[int]:
    """Ids of the best ``limit`` structures of ``nearby`` whose card matches any group (BM25 on SQLite,
    ts_rank on PostgreSQL).

    Rare words are looked up in the text index and intersected with the box. Common ones (a listing's words
    and their synonyms, OR-ed, can match a good share of the country's cards) are tested on each card of the
    box instead, at most MAX_STRUCTURE_SCAN of them: reading every match from the index would cost more.
    ``common``: the words are common (see ``_estimated_matches``). ``box`` (latitude and longitude ranges)
    and ``exclude`` (the listing's structure) restate ``nearby``."""
    if not common:
        return _indexed_candidates(nearby, groups, limit, box, exclude)
    if connection.vendor == "sqlite":
        # SQLite's documents are stemmed words: matched and scored here (see actors.search.rank_documents).
        stems = {token for alternatives in groups for _word, token, _prefix in alternatives}
        rows = [
            (pk, document)
            for pk, document in nearby.values_list("pk", "search_document")[:MAX_STRUCTURE_SCAN]
            if not stems.isdisjoint(document.split())
        ]
        return rank_documents(rows, [(token, False) for token in sorted(stems)])[:limit]
    tsquery = postgres_expression(groups, any_group=True)
    vector = f'{{table}}."{STRUCTURE_INDEX.vector_column}"'
    condition = OwnTableSQL(
        # "coalesce" keeps the planner off the text index.
        f"coalesce({vector}, ''::tsvector) @@ to_tsquery('essaim_french', %s)",
        (tsquery,),
        output_field=BooleanField(),
    )
    rank = OwnTableSQL(
        f"ts_rank({vector}, to_tsquery('essaim_french', %s))", (tsquery,), output_field=FloatField()
    )
    box = nearby.filter(pk__in=nearby.values("pk")[:MAX_STRUCTURE_SCAN])
    ranked = box.filter(condition).annotate(search_rank=rank).order_by("-search_rank", "pk")
    return list(ranked.values_list("pk", flat=True)[:limit])


def _in_box(ids: list[int], box) -> list[int]:
    """Those of ``ids`` whose card is on the map (published, with its own point or its commune's) within
    ``box`` ((lat_min, lat_max), (lon_min, lon_max)), read by primary key a chunk at a time."""
    from essaim.actors.models import Structure

    (lat_min, lat_max), (lon_min, lon_max) = box
    found = []
    for start in range(0, len(ids), 2000):
        rows = Structure.objects.filter(pk__in=ids[start : start + 2000]).order_by()
        for pk, lat, lon in rows.values_list("pk", "map_lat", "map_lon"):
            if lat is not None and lat_min <= lat <= lat_max and lon_min <= lon <= lon_max:
                found.append(pk)
    return found


def _indexed_candidates(nearby, groups, limit: int, box, exclude: int) -> list[int]:
    """``_text_candidates`` through the text index: its matches intersected with the box (``nearby`` on
    PostgreSQL, whose planner intersects both indexes; ``box`` and ``exclude`` on SQLite)."""
    match = expanded_filter(nearby, STRUCTURE_INDEX, groups, any_group=True)
    if match.sqlite_match:
        # The (few) text matches read from the index, each card's map point then tested against the box:
        # walking the box instead costs its whole size, tens of thousands of cards around a city.
        fts = STRUCTURE_INDEX.fts_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [match.sqlite_match])  # noqa: S608
            matched = [row[0] for row in cursor.fetchall()]
        ids = [pk for pk in _in_box(matched, box) if pk != exclude][:MAX_STRUCTURE_SCAN]
        if not ids:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                # bm25() sorted outside, not "ORDER BY rank": FTS5 would rank every match of the words
                # before the membership test.
                f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s "  # noqa: S608
                f"AND rowid + 0 IN (SELECT value FROM json_each(%s)) ORDER BY bm25({fts}) LIMIT %s",
                [match.sqlite_match, json.dumps(ids), limit],
            )
            return [row[0] for row in cursor.fetchall()]
    rank = OwnTableSQL(match.rank_sql, match.rank_params, output_field=FloatField())
    ranked = match.queryset.annotate(search_rank=rank).order_by("-search_rank", "pk")
    return list(ranked.values_list("pk", flat=True)[:limit])


def _scored_cards(
    listing, own_point, reach, radius, own_terms, own_themes, synonyms, groups, limit, *, common_words
):
    """(score, distance, structure id, reasons) of the best ``limit`` cards within ``reach`` km (scored
    against the full ``radius``), without those already posting a counterpart."""
    from essaim.actors.models import Structure

    nearby = _nearby_structures(own_point, reach).exclude(pk=listing.structure_id)
    ids: list[int] = []
    if groups:
        box = _box(own_point, reach)
        ids = _text_candidates(
            nearby, groups, MAX_STRUCTURE_CANDIDATES, box, listing.structure_id, common=common_words
        )
    if own_themes:
        # Each card of the box tested through the (structure, theme) index: a theme has too many cards
        # nationwide to be the starting point.
        through = Structure.themes.through.objects.filter(
            structure_id=OuterRef("pk"), theme_id__in=list(own_themes)
        )
        by_theme = nearby.filter(Exists(through)).exclude(pk__in=ids)
        ids += list(by_theme.values_list("pk", flat=True)[:MAX_STRUCTURE_CANDIDATES])
    if not ids:
        return []

    # The map point of a published card is its own point, else its commune's (see actors.geo): no join.
    columns = ("pk", "name", "acronym", "description", "naf_label", "map_lat", "map_lon")
    rows = Structure.objects.filter(pk__in=ids).order_by().values_list(*columns)
    themes_of: dict[int, list[int]] = {}
    for structure_id, theme_id in Structure.themes.through.objects.filter(
        structure_id__in=ids, theme_id__in=list(own_themes)
    ).values_list("structure_id", "theme_id"):
        themes_of.setdefault(structure_id, []).append(theme_id)
    scored = []
    for pk, name, acronym, description, naf_label, lat, lon in rows:
        point = (lat, lon) if lat is not None and lon is not None else None
        distance = haversine_km(own_point, point) if point is not None else None
        if distance is not None and distance > reach:
            continue
        card_terms = terms(" ".join([name, acronym, description, naf_label or ""]))
        text = overlap(own_terms, card_terms, synonyms)
        shared = sorted(own_themes[t] for t in themes_of.get(pk, ()) if t in own_themes)
        if not (text.common or text.close or shared):
            continue
        score, reasons = text.score, text.reasons("sur sa fiche")
        if shared:
            score += WEIGHT_THEME * len(shared)
            reasons.append(_themes_reason(shared))
        if distance is not None:
            score += WEIGHT_NEAR * max(0.0, 1 - distance / radius)
            reasons.append(f"à {round(distance)} km")
        scored.append((score, distance, pk, reasons))
    scored.sort(key=lambda s: (-s[0], s[1] if s[1] is not None else math.inf, s[2]))
    # Structures already posting a counterpart are among the listing suggestions: checked on the best only.
    best = scored[: limit * 3]
    # Their listings read through the structure index alone, the kind checked here: given "kind = ?" too,
    # SQLite would walk every listing of that kind.
    theirs = Listing.objects.filter(structure_id__in=[pk for _s, _d, pk, _r in best]).values_list(
        "pk", "direction", "kind"
    )
    counterparts = [
        pk for pk, direction, kind in theirs if (direction, kind) == (_counterpart(listing), listing.kind)
    ]
    posting = set(Listing.objects.listed().filter(pk__in=counterparts).values_list("structure_id", flat=True))
    return [item for item in best if item[2] not in posting][:limit]


def structure_suggestions(*, listing: Listing, limit: int = 5) -> list[StructureSuggestion]:
    """Published structures that could answer ``listing`` from what their card says, best first.

    Candidates are within the listing's radius of its structure (at most STRUCTURE_RADIUS_MAX_KM), not
    that structure, and not already posting a listed counterpart of the same kind (those appear among the
    listing suggestions); their card (name, description, activity, themes) must share a word — or a
    synonym — with the listing's title, or a theme. Each comes with French reasons (« sur sa fiche :
    salle », « mots proches : local ≈ salle », « même thème : culture », « à 12 km »). No suggestion when
    the listing's structure has no known point.
    """
    from essaim.actors.models import Structure

    own_point = listing.structure.point
    if own_point is None:
        return []
    radius = max(1, min(listing.radius_km, STRUCTURE_RADIUS_MAX_KM))
    own_terms = terms(f"{listing.title} {listing.description}")
    own_themes = {theme.pk: theme.label for theme in listing.themes.all()}
    synonyms = current_synonyms()
    groups = _card_query(listing, synonyms)
    # Estimated once for every reach step.
    common_words = bool(groups) and _estimated_matches(groups) >= COMMON_WORDS_MATCHES
    # Nearest first: in a dense area a small box already holds enough good cards, and walking the whole
    # box of a large radius (tens of thousands of cards) is the slow part.
    best = []
    for reach in sorted({step for step in STRUCTURE_REACH_STEPS_KM if step < radius} | {radius}):
        best = _scored_cards(
            listing,
            own_point,
            reach,
            radius,
            own_terms,
            own_themes,
            synonyms,
            groups,
            limit,
            common_words=common_words,
        )
        if len(best) >= limit:
            break
    cards = Structure.objects.select_related("commune").in_bulk([pk for _s, _d, pk, _r in best])
    return [
        StructureSuggestion(structure=cards[pk], score=score, reasons=reasons, distance_km=distance)
        for score, distance, pk, reasons in best
        if pk in cards
    ]
