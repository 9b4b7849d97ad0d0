"""Full-text search of offers and needs, and the synonyms shared by search and matching.

Built on the Annuaire's generic core (``essaim.actors.search``): the same folding and French Snowball
stemming, the same two engines (SQLite FTS5 over a stemmed document, PostgreSQL ``essaim_french`` over the
plain one; see migration ``exchange/0005_search_synonyms``). On top of it, each query word is expanded with
its synonym groups (``SynonymGroup``, edited by the facilitators): "salle" also finds "local" and "bureau".

Index freshness: the listing services call ``listings_reindex`` after every create and update (the
document holds the title, description and theme labels); on SQLite, triggers keep the FTS table in step.
"""

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, connections
from django.db.models import BooleanField, FloatField, QuerySet
from django.db.models.expressions import RawSQL

from essaim.actors.search import (
    OwnTableSQL,
    TextIndex,
    TextMatch,
    query_words,
    stem,
    stemmed,
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


def listing_document(*, title: str, description: str = "", themes: Sequence[str] = (), vendor=None) -> str:
    """The search document of a listing: stemmed on SQLite (FTS5 has no French stemmer), plain text on
    PostgreSQL (the ``essaim_french`` configuration stems it)."""
    parts = [part for part in (title, description, " ".join(themes)) if part]
    if (vendor or connection.vendor) == "postgresql":
        return " ".join(parts)
    return " ".join(stemmed(part) for part in parts)


def listings_reindex(*, ids: Iterable[int] | None = None, using: str = "default") -> None:
    """Rewrite the search document of the given listings (all when ``ids`` is None) from their title,
    description and themes, and their point from their structure's (see ``listings_locate``). Raw SQL,
    so a migration can call it whatever the model's state."""
    conn = connections[using]
    where, params = "", []
    if ids is not None:
        ids = [int(pk) for pk in ids]
        if not ids:
            return
        where, params = f"WHERE l.id IN ({', '.join(['%s'] * len(ids))})", ids
    listings_locate(ids=ids, using=using)
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT l.id, l.title, l.description, l.search_document FROM exchange_listing l {where}",  # noqa: S608
            params,
        )
        rows = cursor.fetchall()
        themes: dict[int, list[str]] = {}
        if rows:
            cursor.execute(
                "SELECT x.listing_id, t.label FROM exchange_listing_themes x "  # noqa: S608
                "JOIN actors_theme t ON t.id = x.theme_id "
                + (f"WHERE x.listing_id IN ({', '.join(['%s'] * len(ids))}) " if ids is not None else "")
                + "ORDER BY t.label",
                params,
            )
            for listing_id, label in cursor.fetchall():
                themes.setdefault(listing_id, []).append(label)
        for pk, title, description, old in rows:
            document = listing_document(
                title=title, description=description, themes=themes.get(pk, ()), vendor=conn.vendor
            )
            if document != old:
                cursor.execute(
                    "UPDATE exchange_listing SET search_document = %s WHERE id = %s", [document, pk]
                )


def listings_locate(
    *, ids: Iterable[int] | None = None, structure_ids: Iterable[int] | None = None, using: str = "default"
) -> None:
    """Copy onto the given listings (or those of ``structure_ids``; all when both are None) their
    structure's point: its own, else its commune's. Structure writes that move a card should call it."""
    point = (
        "(SELECT COALESCE(s.{axis}, c.{axis}) FROM actors_structure s "
        "LEFT JOIN territories_commune c ON c.id = s.commune_id WHERE s.id = exchange_listing.structure_id)"
    )
    where, params = "", []
    for column, values in (("id", ids), ("structure_id", structure_ids)):
        if values is not None:
            values = [int(pk) for pk in values]
            if not values:
                return
            where, params = f"WHERE {column} IN ({', '.join(['%s'] * len(values))})", values
    sql = (
        f"UPDATE exchange_listing SET latitude = {point.format(axis='latitude')}, "  # noqa: S608
        f"longitude = {point.format(axis='longitude')} {where}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)


# -- queries --------------------------------------------------------------------------------------------


def _expanded(words: list[str], synonyms: Synonyms) -> list[list[tuple[str, str, bool]]]:
    """Per query word, its alternatives as (word, stem, prefix): the word itself (the last one also as a
    prefix, search as you type) and the words of its synonym groups."""
    result = []
    for index, word in enumerate(words):
        token = stem(word)
        prefix = index == len(words) - 1 and len(word) >= 3
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
    queryset: QuerySet, index: TextIndex, groups: list[list[tuple[str, str, bool]]], *, any_group=False
) -> TextMatch:
    """``queryset`` narrowed to the rows of ``index`` matching ``groups`` (see ``_expanded``), with how to
    rank them. On SQLite the match list is tested as a set ("+ 0"): the other filters go first."""
    if connection.vendor == "postgresql":
        tsquery = postgres_expression(groups, any_group=any_group)
        vector = f'{{table}}."{index.vector_column}"'
        condition = OwnTableSQL(
            f"{vector} @@ to_tsquery('essaim_french', %s)", (tsquery,), output_field=BooleanField()
        )
        return TextMatch(
            queryset.filter(condition),
            rank_sql=f"ts_rank({vector}, to_tsquery('essaim_french', %s))",
            rank_params=(tsquery,),
        )
    expression = sqlite_expression(groups, any_group=any_group)
    fts = index.fts_table
    matches = f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s"  # noqa: S608 (names from TextIndex)
    ids = RawSQL(matches, (expression,))  # noqa: S611
    return TextMatch(queryset.filter(pk__in=ids), sqlite_match=expression)


def _has_match(match: TextMatch) -> bool:
    """Whether the text matches anything. SQLite: asked of the FTS index alone (the selection's joins
    would read every match); typo tolerance is for words the index does not know at all."""
    if match.sqlite_match:
        fts = LISTING_INDEX.fts_table
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {fts} WHERE {fts} MATCH %s LIMIT 1", [match.sqlite_match])  # noqa: S608
            return cursor.fetchone() is not None
    return match.queryset.exists()


def listing_filter(queryset: QuerySet, text: str, *, synonyms: Synonyms | None = None) -> TextMatch:
    """The listings of ``queryset`` matching every word of ``text`` (or one of its synonyms), stemmed,
    accent- and case-insensitive, the last word also as a prefix. With no result, typo-tolerant results
    (``approximate``) when some come close. An empty query matches everything."""
    words = query_words(text)
    if not words:
        return TextMatch(queryset)
    groups = _expanded(words, synonyms if synonyms is not None else current_synonyms())
    match = expanded_filter(queryset, LISTING_INDEX, groups)
    if not _has_match(match):
        return typo_filter(queryset, LISTING_INDEX, text) or match
    return match


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
# Totals above this are cached for a few minutes, as the directory does (counting is the slowest part).
COUNT_CACHE_ABOVE = 5000
COUNT_CACHE_SECONDS = 300
# Timestamps (the expiry filter's "now") are left out of the cache key: a total a few minutes old is fine.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d)?")


class RankedListings:
    """A page-able selection of listings for ``django.core.paginator.Paginator`` (``count()`` and
    slicing), best first: the newest ``RANK_WINDOW`` matches ranked by relevance (bm25 on SQLite, ts_rank on
    PostgreSQL), then the older matches, newest first."""

    def __init__(self, queryset: QuerySet, match: TextMatch, related: Sequence[str] = ()):
        self.queryset, self.match, self.related = queryset, match, related
        self._count = None
        self._window = None

    def count(self) -> int:
        if self._count is None:
            query = self.match.queryset.order_by().values("pk").query
            sql, params = query.sql_with_params()
            source = _TIMESTAMP.sub("now", repr((sql, [str(param) for param in params])))
            key = "essaim:listing-count:" + hashlib.sha256(source.encode()).hexdigest()[:32]
            self._count = cache.get(key)
            if self._count is None:
                self._count = self.match.queryset.count()
                if self._count > COUNT_CACHE_ABOVE:
                    cache.set(key, self._count, COUNT_CACHE_SECONDS)
        return self._count

    def __len__(self) -> int:
        return self.count()

    def window(self) -> list[int]:
        """Ids of the newest RANK_WINDOW matches, best first."""
        if self._window is None:
            newest = self._newest_sqlite() if self.match.sqlite_match else self._newest()
            self._window = self._ranked(newest) if newest else []
        return self._window

    def _newest(self) -> list[int]:
        return list(self.match.queryset.order_by("-pk").values_list("pk", flat=True)[:RANK_WINDOW])

    def _newest_sqlite(self) -> list[int]:
        # The FTS doclist read backwards, a step at a time, each step checked against the selection: the
        # selection itself (every listed listing, with its structure) is never materialised.
        fts, found, before, scanned = LISTING_INDEX.fts_table, [], None, 0
        step_size = RANK_WINDOW + RANK_WINDOW // 5
        with connection.cursor() as cursor:
            while len(found) < RANK_WINDOW and scanned < WINDOW_SCAN_MAX:
                bound = "" if before is None else "AND rowid < %s "
                cursor.execute(
                    f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s {bound}ORDER BY rowid DESC LIMIT %s",  # noqa: S608
                    # A broad selection keeps nearly every match: the first step asks for little more.
                    [self.match.sqlite_match, *([] if before is None else [before]), step_size],
                )
                step = [row[0] for row in cursor.fetchall()]
                if not step:
                    break
                scanned += len(step)
                before = step[-1]
                kept = set(self.queryset.filter(pk__in=step).values_list("pk", flat=True))
                found += [pk for pk in step if pk in kept]
                if len(step) < step_size:
                    break  # the doclist is exhausted
                step_size = WINDOW_STEP
        return found[:RANK_WINDOW]

    def _ranked(self, ids: list[int]) -> list[int]:
        model = self.queryset.model
        if self.match.sqlite_match:
            fts = LISTING_INDEX.fts_table
            with connection.cursor() as cursor:
                cursor.execute(
                    # bm25() sorted outside, not "ORDER BY rank": FTS5 would rank every match first.
                    f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s "  # noqa: S608
                    f"AND rowid + 0 IN (SELECT value FROM json_each(%s)) ORDER BY bm25({fts}), rowid DESC",
                    [self.match.sqlite_match, json.dumps(ids)],
                )
                return [row[0] for row in cursor.fetchall()]
        rank = _rank_expression(self.match)
        rows = model.objects.filter(pk__in=ids).annotate(search_rank=rank).order_by("-search_rank", "-pk")
        return list(rows.values_list("pk", flat=True))

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
        rows = self.queryset.model.objects.filter(pk__in=ids).select_related(*self.related)
        by_id = {row.pk: row for row in rows}
        items = [by_id[pk] for pk in ids if pk in by_id]
        if stop > len(window) and len(window) == RANK_WINDOW:
            older = self.match.queryset.filter(pk__lt=min(window)).order_by("-pk")
            items += list(
                older.select_related(*self.related)[max(0, start - len(window)) : stop - len(window)]
            )
        return items


def listing_search(*, text: str, queryset: QuerySet | None = None, related: Sequence[str] = ()):
    """The listings of ``queryset`` (listed ones by default) matching ``text``, best first: a
    ``RankedListings`` to give to a ``Paginator``. Without text, ``queryset`` itself (its own order)."""
    from essaim.exchange.models import Listing

    queryset = Listing.objects.listed() if queryset is None else queryset
    if not query_words(text):
        return queryset.select_related(*related)
    return RankedListings(queryset, listing_filter(queryset, text), related)
