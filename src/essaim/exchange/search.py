"""Full-text search of offers and needs, and the synonyms shared by search and matching.

Built on the Annuaire's generic core (``essaim.actors.search``): the same folding and French Snowball
stemming, the same two engines (SQLite FTS5 over a stemmed document, PostgreSQL ``essaim_french`` over the
plain one; see migration ``exchange/0005_search_synonyms``). On top of it, each query word is expanded with
its synonym groups (``SynonymGroup``, edited by the facilitators): "salle" also finds "local" and "bureau".

Index freshness: the listing services call ``listings_reindex`` after every create and update (the
document holds the title, description and theme labels); on SQLite, triggers keep the FTS table in step.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, connections
from django.db.models import BooleanField, Exists, FloatField, OuterRef, QuerySet
from django.db.models.expressions import RawSQL

from essaim.actors.models import Status
from essaim.actors.search import (
    OwnTableSQL,
    TextIndex,
    TextMatch,
    filter_term,
    perimeter_terms,
    postgres_filter_terms,
    query_words,
    rank_by_documents,
    sqlite_filter_terms,
    stem,
    stemmed,
    structure_terms,
    typo_filter,
)
from essaim.core.text import normalize

LISTING_INDEX = TextIndex(
    table="exchange_listing",
    fts_table="exchange_listing_fts",
    terms_table="exchange_listing_fts_terms",
    vector_column="search_vector",
    name_column="search_title",
)

SYNONYM_WORD_MAX = 40
SYNONYM_GROUP_MAX_WORDS = 20


# -- synonyms -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synonyms:
    """The synonym groups as stems: ``groups[i]`` is {stem: word as written}; ``of_stem`` maps a stem to
    the indexes of its groups."""

    groups: tuple[dict[str, str], ...] = ()
    of_stem: dict | None = None

    def alternatives(self, token: str) -> set[str]:
        """The stems equivalent to ``token`` (itself included)."""
        found = {token}
        for index in (self.of_stem or {}).get(token, ()):
            found |= set(self.groups[index])
        return found

    def equivalent(self, token: str, others: Iterable[str]) -> str | None:
        """One of ``others`` in a synonym group of ``token`` (not ``token`` itself), else None."""
        others = set(others)
        for index in sorted((self.of_stem or {}).get(token, ())):
            for other in sorted(self.groups[index]):
                if other != token and other in others:
                    return other
        return None


def parse_synonym_words(text: str) -> list[str]:
    """The words of a synonym group as typed ("Local, salle ; bureau") -> ["local", "salle", "bureau"]:
    lower-cased, accents kept, duplicates (same folded form) dropped. Separators: commas, semicolons,
    new lines."""
    words, seen = [], set()
    for raw in text.replace(";", ",").replace("\n", ",").split(","):
        word = " ".join(raw.split()).lower()
        key = normalize(word)
        if word and key not in seen:
            seen.add(key)
            words.append(word)
    return words


def synonym_errors(words: Sequence[str]) -> list[str]:
    """French messages for what is wrong with a group's words (empty when valid)."""
    errors = []
    if len(words) < 2:
        errors.append("Indiquez au moins deux mots séparés par des virgules.")
    if len(words) > SYNONYM_GROUP_MAX_WORDS:
        errors.append(f"Un groupe compte au plus {SYNONYM_GROUP_MAX_WORDS} mots.")
    for word in words:
        folded = normalize(word).split()
        if len(folded) != 1:
            errors.append(
                f"« {word} » n'est pas un mot seul : séparez les synonymes par des virgules "
                "(les expressions de plusieurs mots ne sont pas prises en charge)."
            )
        elif len(word) > SYNONYM_WORD_MAX:
            errors.append(f"« {word} » est trop long ({SYNONYM_WORD_MAX} caractères au plus).")
    return errors


def synonyms_from(groups: Iterable[Iterable[str]]) -> Synonyms:
    stems_groups, of_stem = [], {}
    for words in groups:
        group = {}
        for word in words:
            for folded in normalize(word).split():
                group.setdefault(stem(folded), folded)
        if len(group) < 2:
            continue
        for token in group:
            of_stem.setdefault(token, set()).add(len(stems_groups))
        stems_groups.append(group)
    return Synonyms(tuple(stems_groups), of_stem)


def current_synonyms() -> Synonyms:
    """The synonym groups as they are now (one small query: facilitators' edits apply at once)."""
    from essaim.exchange.models import SynonymGroup

    rows = SynonymGroup.objects.values_list("words", flat=True)
    return synonyms_from([word.strip() for word in words.split(",")] for words in rows)


# -- documents and index --------------------------------------------------------------------------------


def listing_document(
    *,
    title: str,
    description: str = "",
    themes: Sequence[str] = (),
    filters: Sequence[str] = (),
    vendor=None,
) -> str:
    """The search document of a listing: stemmed on SQLite (FTS5 has no French stemmer), plain text on
    PostgreSQL (the ``essaim_french`` configuration stems it), followed by its ``filters`` terms as they are
    (see ``listing_terms``)."""
    parts = [part for part in (title, description, " ".join(themes)) if part]
    if (vendor or connection.vendor) != "postgresql":
        parts = [stemmed(part) for part in parts]
    return " ".join([*parts, *filters])


def listing_terms(
    *,
    direction: str,
    kind: str,
    theme_ids: Iterable[int] = (),
    commune_code: str = "",
    departement=None,
    epci=None,
) -> list[str]:
    """The filter terms written in a listing's document (see ``actors.search.filter_term``): its direction,
    kind, themes and its structure's commune (code, département, EPCI, as the directory's documents), so
    that the text index answers a search's filters in the same lookup as its words."""
    return [
        filter_term("s", direction),
        filter_term("k", kind),
        *(filter_term("t", pk) for pk in sorted(theme_ids)),
        *structure_terms(commune_code=commune_code or "", departement=departement or "", epci=epci),
    ]


def listing_filter_terms(
    *,
    direction: str | None = None,
    kind: str | None = None,
    theme_ids: Iterable[int] | None = None,
    perimeter=None,
) -> list[list[str]]:
    """The filter terms of a search for listings of this direction, kind, one of these themes and in this
    perimeter (each optional), for ``listing_search``: groups OR-ed within, AND-ed together."""
    groups = []
    if direction:
        groups.append([filter_term("s", direction)])
    if kind:
        groups.append([filter_term("k", kind)])
    if theme_ids is not None:
        groups.append([filter_term("t", pk) for pk in sorted(theme_ids)])
    if perimeter is not None:
        groups.append(perimeter_terms(perimeter))
    return groups


def listings_reindex(
    *,
    ids: Iterable[int] | None = None,
    structure_ids: Iterable[int] | None = None,
    using: str = "default",
    locate: bool = True,
) -> None:
    """Rewrite the search document of the given listings (those of ``structure_ids``; all when both are
    None) from their title, description, themes and the filter terms of ``listing_terms``, after (with
    ``locate``) copying their structure's point, commune and status (see ``listings_locate``). Raw SQL, so
    that migration 0010 can call it whatever the model's state: a change here that reads a later column
    must freeze that call first."""
    conn = connections[using]
    if structure_ids is not None:
        structure_ids = [int(pk) for pk in structure_ids]
        if not structure_ids:
            return
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM exchange_listing "  # noqa: S608
                f"WHERE structure_id IN ({', '.join(['%s'] * len(structure_ids))})",
                structure_ids,
            )
            ids = [row[0] for row in cursor.fetchall()]
    where, params = "", []
    if ids is not None:
        ids = [int(pk) for pk in ids]
        if not ids:
            return
        where, params = f"WHERE l.id IN ({', '.join(['%s'] * len(ids))})", ids
    if locate:
        listings_locate(ids=ids, using=using)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT l.id, l.title, l.description, l.direction, l.kind, l.search_document, "  # noqa: S608
            "c.code, c.departement_id, c.epci_id "
            f"FROM exchange_listing l LEFT JOIN territories_commune c ON c.id = l.commune_id {where}",
            params,
        )
        rows = cursor.fetchall()
        themes: dict[int, list[tuple[int, str]]] = {}
        if rows:
            cursor.execute(
                "SELECT x.listing_id, t.id, t.label FROM exchange_listing_themes x "  # noqa: S608
                "JOIN actors_theme t ON t.id = x.theme_id "
                + (f"WHERE x.listing_id IN ({', '.join(['%s'] * len(ids))}) " if ids is not None else "")
                + "ORDER BY t.label",
                params,
            )
            for listing_id, theme_id, label in cursor.fetchall():
                themes.setdefault(listing_id, []).append((theme_id, label))
        for pk, title, description, direction, kind, old, code, departement, epci in rows:
            own = themes.get(pk, ())
            terms = listing_terms(
                direction=direction,
                kind=kind,
                theme_ids=[theme_id for theme_id, _label in own],
                commune_code=code,
                departement=departement,
                epci=epci,
            )
            document = listing_document(
                title=title,
                description=description,
                themes=[label for _pk, label in own],
                filters=terms,
                vendor=conn.vendor,
            )
            if document != old:
                cursor.execute(
                    "UPDATE exchange_listing SET search_document = %s WHERE id = %s", [document, pk]
                )


def listings_locate(
    *, ids: Iterable[int] | None = None, structure_ids: Iterable[int] | None = None, using: str = "default"
) -> None:
    """Copy onto the given listings (or those of ``structure_ids``; all when both are None) their
    structure's point (its own, else its commune's), commune and whether it is published. Any write that
    moves a card or changes its status calls it (through ``listings_reindex``, from ``actors.geo.map_sync``;
    see ``exchange.apps``)."""
    point = (
        "(SELECT COALESCE(s.{axis}, c.{axis}) FROM actors_structure s "
        "LEFT JOIN territories_commune c ON c.id = s.commune_id WHERE s.id = exchange_listing.structure_id)"
    )
    published = (
        "EXISTS (SELECT 1 FROM actors_structure s "
        "WHERE s.id = exchange_listing.structure_id AND s.status = %s)"
    )
    commune = "(SELECT s.commune_id FROM actors_structure s WHERE s.id = exchange_listing.structure_id)"
    where, params = "", []
    for column, values in (("id", ids), ("structure_id", structure_ids)):
        if values is not None:
            values = [int(pk) for pk in values]
            if not values:
                return
            where, params = f"WHERE {column} IN ({', '.join(['%s'] * len(values))})", values
    sql = (
        f"UPDATE exchange_listing SET latitude = {point.format(axis='latitude')}, "  # noqa: S608
        f"longitude = {point.format(axis='longitude')}, structure_published = {published}, "
        f"commune_id = {commune} {where}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [Status.PUBLISHED.value, *params])


# -- queries --------------------------------------------------------------------------------------------


def _expanded(
    words: list[str], synonyms: Synonyms, *, prefix_last: bool = True
) -> list[list[tuple[str, str, bool]]]:
    """Per query word, its alternatives as (word, stem, prefix): the word itself (with ``prefix_last``, the
    last one as a prefix) and the words of its synonym groups."""
    result = []
    for index, word in enumerate(words):
        token = stem(word)
        prefix = prefix_last and index == len(words) - 1 and len(word) >= 3
        alternatives = [(word, token, prefix)]
        for group_index in sorted((synonyms.of_stem or {}).get(token, ())):
            for other_token, other_word in sorted(synonyms.groups[group_index].items()):
                if other_token != token and all(other_token != alt[1] for alt in alternatives):
                    alternatives.append((other_word, other_token, False))
        result.append(alternatives)
    return result


def sqlite_expression(groups: list[list[tuple[str, str, bool]]], *, any_group: bool = False) -> str:
    """FTS5 query: every group (one of its alternatives), or any of them with ``any_group``."""
    parts = []
    for alternatives in groups:
        terms = [f'"{token}"*' if prefix else f'"{token}"' for _word, token, prefix in alternatives]
        parts.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    # Explicit AND: FTS5 refuses an implicit one next to a parenthesised group.
    return (" OR " if any_group else " AND ").join(parts)


def postgres_expression(groups: list[list[tuple[str, str, bool]]], *, any_group: bool = False) -> str:
    """``to_tsquery`` input (the engine stems the words): every group, or any with ``any_group``."""
    parts = []
    for alternatives in groups:
        terms = [f"{word}:*" if prefix else word for word, _token, prefix in alternatives]
        parts.append(terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")")
    return (" | " if any_group else " & ").join(parts)


def expanded_filter(
    queryset: QuerySet,
    index: TextIndex,
    groups: list[list[tuple[str, str, bool]]],
    *,
    any_group=False,
    terms: Sequence[Sequence[str]] = (),
) -> TextMatch:
    """``queryset`` narrowed to the rows of ``index`` matching ``groups`` (see ``_expanded``) and the filter
    ``terms`` (see ``actors.search.text_filter``), with how to rank them (on the words). On SQLite the
    match list is tested as a set ("+ 0"): the other filters go first."""
    if connection.vendor == "postgresql":
        tsquery = postgres_expression(groups, any_group=any_group)
        full = f"({tsquery}) & {postgres_filter_terms(terms)}" if terms else tsquery
        vector = f'{{table}}."{index.vector_column}"'
        condition = OwnTableSQL(
            f"{vector} @@ to_tsquery('essaim_french', %s)", (full,), output_field=BooleanField()
        )
        return TextMatch(
            queryset.filter(condition),
            rank_sql=f"ts_rank({vector}, to_tsquery('essaim_french', %s))",
            rank_params=(tsquery,),
        )
    expression = sqlite_expression(groups, any_group=any_group)
    if terms:
        expression = f"({expression}) AND {sqlite_filter_terms(terms)}"
    fts = index.fts_table
    matches = f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s"  # noqa: S608 (names from TextIndex)
    ids = RawSQL(matches, (expression,))  # noqa: S611
    # Every alternative of every word scores (see ``rank_by_documents``).
    scored = tuple((token, prefix) for alternatives in groups for _word, token, prefix in alternatives)
    return TextMatch(queryset.filter(pk__in=ids), sqlite_match=expression, sqlite_terms=scored)


def _has_match(groups: list[list[tuple[str, str, bool]]]) -> bool:
    """Whether a listed listing matches the words, whatever the selection's other filters: the prefix and
    typo retries are for words no visible listing holds (drafts, hidden or expired listings do not count).

    The filters are left out on purpose: on PostgreSQL, "LIMIT 1" over words and filters that never go
    together becomes a sequential scan of the table. On SQLite the newest matches of the text index are
    checked one by one (see ``RankedListings._collect_sqlite``)."""
    from essaim.exchange.models import Listing

    listed = Listing.objects.listed()
    match = expanded_filter(listed, LISTING_INDEX, groups)
    if match.sqlite_match:
        found, complete = RankedListings(listed, match)._collect_sqlite(1)
        return bool(found) or not complete
    return match.queryset.exists()


def listing_filter(
    queryset: QuerySet,
    text: str,
    *,
    synonyms: Synonyms | None = None,
    terms: Sequence[Sequence[str]] = (),
) -> TextMatch:
    """The listings of ``queryset`` matching every word of ``text`` (or one of its synonyms), stemmed,
    accent- and case-insensitive; the last word as a prefix when the whole words match nothing (search as
    you type: « réun »), then typo-tolerant results (``approximate``) when some come close. An empty query
    matches everything.

    ``queryset`` is a selection of listed listings: the retries look for the words among those. ``terms``
    (``listing_filter_terms``) repeat filters of ``queryset`` for the text index to answer with the words:
    without them the database reads every match of the words to test the filters. The typo tolerant retry
    does without them, hence ``queryset`` must hold the same filters."""
    words = query_words(text)
    if not words:
        return TextMatch(queryset)
    if any(not group for group in terms):
        # A filter nothing can satisfy (a perimeter without communes, an unknown theme): no result, as the
        # selection's own filters would give.
        return TextMatch(queryset.none())
    synonyms = synonyms if synonyms is not None else current_synonyms()
    # Whole words first: a prefix costs the text index a scan of every word it starts (and is less precise).
    for prefix_last in (False, True):
        groups = _expanded(words, synonyms, prefix_last=prefix_last)
        match = expanded_filter(queryset, LISTING_INDEX, groups, terms=terms)
        if _has_match(groups):
            return match
    return typo_filter(queryset, LISTING_INDEX, text) or match


def _rank_expression(match: TextMatch):
    if match.rank_sql:
        return OwnTableSQL(match.rank_sql, match.rank_params, output_field=FloatField())
    # FTS5's bm25 is lower for better matches; negated so that higher is better on both engines.
    fts = LISTING_INDEX.fts_table
    return OwnTableSQL(
        f'(SELECT -bm25({fts}) FROM {fts} WHERE {fts} MATCH %s AND rowid = {{table}}."id")',  # noqa: S608
        (match.sqlite_match,),
        output_field=FloatField(),
    )


def listing_text_search(queryset: QuerySet, text: str, *, rank: bool = True) -> QuerySet:
    """``queryset`` narrowed to ``text`` (see ``listing_filter``) and, with ``rank`` and text, annotated
    with ``search_rank`` and ordered by it (then newest first). Without text, ``queryset`` unchanged."""
    match = listing_filter(queryset, text)
    if not rank or not (match.rank_sql or match.sqlite_match):
        return match.queryset
    return match.queryset.annotate(search_rank=_rank_expression(match)).order_by(
        "-search_rank", "-published_at", "-pk"
    )


# Relevance is computed over the newest RANK_WINDOW matches of a query; older matches follow, newest first.
# Ranking every match of a common word (tens of thousands) is what made a search slow, and on a listings
# board a recent good match matters more than an old one.
RANK_WINDOW = 500
# SQLite: FTS rowids read per step while collecting the window (each step is checked against the selection).
WINDOW_STEP = 4000
WINDOW_SCAN_MAX = 40_000
# PostgreSQL: the newest matches are collected over id ranges from the newest, the first this wide, the
# next ones sized on the density of matches seen so far: only the matches of the ranges read are fetched,
# where "ORDER BY id DESC" over the whole match would read every match of a common word.
WINDOW_SPAN = 5_000
# Matches are counted up to COUNT_CAP: beyond, the list says « plus de 1 000 annonces » and its pages stop
# there. Counting every match of a common word was the slowest part of a search, and nobody reads 50 pages.
COUNT_CAP = 1000


class RankedListings:
    """A page-able selection of listings for ``django.core.paginator.Paginator`` (``count()`` and
    slicing), best first: the newest ``RANK_WINDOW`` matches ranked by relevance (BM25 on SQLite, ts_rank
    on PostgreSQL), then the older matches, newest first. ``count()`` stops at ``COUNT_CAP`` (``capped`` is
    then true, and the pages stop there).

    Both counting and ranking start from the newest matches, collected once from the text index
    (``_collect_sqlite``, ``_collect_postgres``): neither reads every match of a common word."""

    def __init__(self, queryset: QuerySet, match: TextMatch, related: Sequence[str] = ()):
        self.queryset, self.match, self.related = queryset, match, related
        self.capped = False
        self._count = None
        self._newest: list[int] = []  # ids of the newest matches, newest first, at most COUNT_CAP
        self._complete = True  # False: older matches than ``_newest`` may exist below the cap
        self._window = None

    def count(self) -> int:
        if self._count is None:
            limit = COUNT_CAP + 1
            if not (self.match.rank_sql or self.match.sqlite_match):
                # No text: only counted here (pages come in the selection's own order).
                found = list(self.match.queryset.order_by().values_list("pk", flat=True)[:limit])
            elif self.match.sqlite_match:
                found, self._complete = self._collect_sqlite(limit)
            else:
                found = self._collect_postgres(limit)
            self._newest = found[:COUNT_CAP]
            if self._complete:
                total = len(found)
            else:
                # The index scan stopped early (a selection much narrower than the text): counted in SQL.
                total = len(self.match.queryset.order_by().values_list("pk", flat=True)[:limit])
            self.capped = total > COUNT_CAP
            self._count = min(total, COUNT_CAP)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def window(self) -> list[int]:
        """Ids of the newest RANK_WINDOW matches, best first."""
        if self._window is None:
            self.count()
            newest = self._newest[:RANK_WINDOW]
            self._window = self._ranked(newest) if newest else []
        return self._window

    def _collect_postgres(self, limit: int) -> list[int]:
        """Ids of the newest ``limit`` matches, newest first, read range by range (see WINDOW_SPAN).

        Each range is read whole and sorted here: with "ORDER BY id DESC LIMIT n" the planner walks the
        primary key testing every row whenever it overestimates the matches (words and filters that never
        go together), the whole table when there are none."""
        top = self.queryset.model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        found: list[int] = []
        upper, span = top + 1, WINDOW_SPAN
        while len(found) < limit and upper > 0:
            lower = max(0, upper - span)
            step = self.match.queryset.filter(pk__gte=lower, pk__lt=upper).order_by()
            found += sorted(step.values_list("pk", flat=True), reverse=True)
            # The next range should hold what is missing at the density seen so far, with a margin; the
            # rest of the table when nothing matched yet (the text index then finds the few older ones).
            read = top + 1 - lower
            span = int((limit - len(found)) * read / len(found) * 1.3) + 1 if found else lower
            upper = lower
        return found[:limit]

    def _collect_sqlite(self, limit: int) -> tuple[list[int], bool]:
        """Ids of the newest ``limit`` matches, newest first, and whether that is all there is to know
        (``limit`` found, or every match read). The FTS doclist is read backwards a step at a time, each step
        checked against the selection, at most WINDOW_SCAN_MAX ids: the selection itself (every listed
        listing) is never read whole."""
        fts, found, before, scanned = LISTING_INDEX.fts_table, [], None, 0
        # A broad selection keeps nearly every match: the first step asks for little more than needed.
        step_size = max(limit + limit // 5, 100)
        model = self.queryset.model
        with connection.cursor() as cursor:
            while len(found) < limit:
                if scanned >= WINDOW_SCAN_MAX:
                    return found, False
                bound = "" if before is None else "AND rowid < %s "
                cursor.execute(
                    f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s {bound}ORDER BY rowid DESC LIMIT %s",  # noqa: S608
                    [self.match.sqlite_match, *([] if before is None else [before]), step_size],
                )
                step = [row[0] for row in cursor.fetchall()]
                scanned += len(step)
                if step:
                    before = step[-1]
                    # Each id looked up, then tested against the selection: SQLite would rather walk the
                    # status index over every listed listing.
                    selected = Exists(self.queryset.filter(pk=OuterRef("pk")))
                    kept = set(
                        model.objects.filter(pk__in=step).filter(selected).values_list("pk", flat=True)
                    )
                    found += [pk for pk in step if pk in kept]
                if len(step) < step_size:
                    break  # the doclist is exhausted
                step_size = WINDOW_STEP
        return found[:limit], True

    def _ranked(self, ids: list[int]) -> list[int]:
        if self.match.sqlite_match:
            # Scored here on the few documents: FTS5's bm25() would walk every match of the words.
            return rank_by_documents(self.queryset.model, ids, self.match.sqlite_terms)
        rank = _rank_expression(self.match)
        rows = self.queryset.model.objects.filter(pk__in=ids).annotate(search_rank=rank)
        return list(rows.order_by("-search_rank", "-pk").values_list("pk", flat=True))

    def __getitem__(self, item):
        if not isinstance(item, slice):
            return self[item : item + 1][0]
        start, stop = item.start or 0, item.stop if item.stop is not None else self.count()
        if stop <= start:
            return []
        if not (self.match.rank_sql or self.match.sqlite_match):
            return list(self.match.queryset.select_related(*self.related)[start:stop])
        window = self.window()
        ids = window[start:stop]
        if stop > len(window):
            # Past the window: the older matches, newest first.
            older_start, older_stop = max(0, start - len(window)), stop - len(window)
            collected = self._newest[len(window) :]
            ids += collected[older_start:older_stop]
            if not self._complete and older_stop > len(collected):
                older = self.match.queryset
                if self._newest:
                    older = older.filter(pk__lt=self._newest[-1])
                older_ids = older.order_by("-pk").values_list("pk", flat=True)
                ids += older_ids[max(0, older_start - len(collected)) : older_stop - len(collected)]
        rows = self.queryset.model.objects.filter(pk__in=ids).select_related(*self.related)
        by_id = {row.pk: row for row in rows}
        return [by_id[pk] for pk in ids if pk in by_id]


def listing_search(
    *,
    text: str,
    queryset: QuerySet | None = None,
    related: Sequence[str] = (),
    terms: Sequence[Sequence[str]] = (),
):
    """The listings of ``queryset`` (listed ones by default) matching ``text``, best first (without text,
    in ``queryset``'s own order): a ``RankedListings`` to give to a ``Paginator``, counted up to COUNT_CAP.
    ``terms``: the filters of ``queryset`` as filter terms (see ``listing_filter``)."""
    from essaim.exchange.models import Listing

    queryset = Listing.objects.listed() if queryset is None else queryset
    return RankedListings(queryset, listing_filter(queryset, text, terms=terms), related)
