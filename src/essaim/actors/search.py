"""Full-text search of the directory, with filters, sorting, facets and pagination.

One interface, two engines picked by ``connection.vendor``:

- SQLite: an FTS5 table (migration ``0009_search_sql``) over ``Structure.search_document``. FTS5 has no
  French stemmer, so the document is stored already folded (accents, case) and stemmed with the Snowball
  French stemmer, and queries are stemmed the same way.
- PostgreSQL: a generated ``search_vector`` column, ``to_tsvector('essaim_french', search_document)`` where
  ``essaim_french`` is the ``french`` configuration with ``unaccent``; the document is the plain text. Typos
  in names are caught by trigram word similarity (``pg_trgm``) on ``search_name``.

The module has a small generic core (``TextIndex``, ``text_filter``, ``FacetSpec``, ``run_search``,
``SearchResult``) that another listing (offers and needs) can reuse with its own index and facets, and the
structure-specific part (``StructureFilters``, ``structure_queryset``, ``structure_search``,
``structures_reindex``).

Index freshness: every write path calls ``structures_reindex`` (services, merge, SIRENE import, the
``search_reindex`` command); on SQLite, triggers then keep the FTS table in step with the column.
"""

import functools
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import snowballstemmer
from django.core.cache import cache
from django.db import connection, connections
from django.db.models import BooleanField, Count, Exists, F, FloatField, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import Expression, RawSQL
from django.db.models.functions import ASin, Coalesce, Cos, Power, Radians, Sin, Sqrt
from rapidfuzz import fuzz, process

from essaim.core.text import normalize

EARTH_RADIUS_KM = 6371.0088
MAX_QUERY_WORDS = 10
# Above this many results, the total and the facet counts are cached for a few minutes: counting a national
# selection on every keystroke is the slowest part of a search, and a slightly stale count there is harmless.
FACET_CACHE_ABOVE = 20_000
FACET_CACHE_SECONDS = 300
FACET_IDS_LIMIT = 5000
# Facets of a larger selection are counted on this many of its first matches (labelled as such).
FACET_SAMPLE = 1000
# A search around a point (no text) counts its matches up to this many only: a dense disc (Paris: 12,000 to
# 27,000 cards within 10 km, spread over as many table pages) would cost a read of every one of them. Above
# it the total is shown as a lower bound ("plus de 300") and the pages (sorted by distance: the nearest)
# stop there. The rows read to count also give the facets (and, below the cap, the order by distance):
# each 100 more cost about 3 ms per page on PostgreSQL at 1M cards (random reads of the table).
RADIUS_COUNT_CAP = 300
# Words that carry no meaning for a search. PostgreSQL's french configuration drops them from documents;
# on SQLite they stay in the document and are only left out of queries.
STOPWORDS = frozenset(
    "a au aux avec ce ces d dans de des du en et l la le les leur leurs ou par pour sur un une".split()  # noqa: SIM905
)
# Typo correction (SQLite): a term of the index replaces an unknown query word when this similar (0-100).
TYPO_MIN_SCORE = 80

_french = snowballstemmer.stemmer("french")

# Filter terms: the territory (commune, département, EPCI), the themes and the labels of a structure are also
# written into its search document as opaque words ("zz0d31"), so that text + filters is one full-text
# lookup that the engine's index answers alone (intersecting posting lists), instead of reading every card of
# a territory or every card of a common word. The digit keeps PostgreSQL from stemming them (a "numword").
FILTER_TERM_PREFIX = "zz0"
_TERM_CHARS = re.compile(r"[^a-z0-9]+")


def filter_term(kind: str, value) -> str:
    """The document word standing for a filter value: ``kind`` is "c" (commune code), "d" (département
    code), "e" (EPCI id), "t" (theme id) or "l" (label id); for listings (``exchange.search``) also "s"
    (direction) and "k" (kind)."""
    return FILTER_TERM_PREFIX + kind + _TERM_CHARS.sub("", str(value).lower())


@functools.lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _french.stemWord(word)


def stem(word: str) -> str:
    """The Snowball French stem of a normalised word ("cooperatives" -> "cooper"); numbers as they are
    (they would only fill the cache)."""
    return word if word.isdigit() else _stem(word)


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _words(text: str) -> list[str]:
    """``normalize(text).split()``, with a fast path for plain ASCII (most SIRENE names)."""
    if text.isascii():
        return _NON_ALNUM.sub(" ", text.lower()).split()
    return normalize(text).split()


def stemmed(text: str) -> str:
    """``text`` folded (accents, case, punctuation) and stemmed word by word, as the SQLite index holds it."""
    return " ".join([stem(word) for word in _words(text)])


# NAF labels, commune names, themes and labels repeat across thousands of cards.
_stemmed_repeated = functools.lru_cache(maxsize=50_000)(stemmed)


def query_words(text: str) -> list[str]:
    """The normalised words of a query, without stop words (unless there is nothing else)."""
    words = normalize(text).split()[:MAX_QUERY_WORDS]
    meaningful = [word for word in words if word not in STOPWORDS]
    return meaningful or words


# -- generic core ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextIndex:
    """Where the full-text index of a model lives (see the migration that creates it)."""

    table: str  # the model's table
    fts_table: str  # SQLite: FTS5 table (rowid = primary key)
    terms_table: str  # SQLite: fts5vocab 'row' table over it
    vector_column: str  # PostgreSQL: generated tsvector column
    name_column: str  # normalised name, trigram-indexed on PostgreSQL (typo tolerance)


def _prefixable(word: str) -> bool:
    """Whether the last word of a query is also searched as a prefix: not too short, and not the start of a
    filter term (which would otherwise match every card)."""
    return len(word) >= 3 and not word.startswith(FILTER_TERM_PREFIX)


def _sqlite_match(words: list[str], *, prefix: bool = True) -> str:
    """FTS5 query: every stem, the last one also as a prefix (search as you type) with ``prefix``."""
    if not words:
        return ""
    parts = []
    for index, word in enumerate(words):
        token = stem(word)
        if prefix and index == len(words) - 1 and _prefixable(word):
            parts.append(f'"{token}"*')
        else:
            parts.append(f'"{token}"')
    return " ".join(parts)


def _postgres_tsquery(words: list[str], *, prefix: bool = True) -> str:
    """``to_tsquery`` input: every word (the engine stems them), the last one also as a prefix with
    ``prefix``."""
    parts = list(words)
    if prefix and parts and _prefixable(parts[-1]):
        parts[-1] += ":*"
    return " & ".join(parts)


def postgres_filter_terms(terms: Sequence[Sequence[str]]) -> str:
    """``to_tsquery`` input of filter terms: OR within a group, AND between groups."""
    return " & ".join("(" + " | ".join(group) + ")" for group in terms)


def sqlite_filter_terms(terms: Sequence[Sequence[str]]) -> str:
    """FTS5 query of filter terms: OR within a group, AND between groups."""
    return " AND ".join("(" + " OR ".join(f'"{term}"' for term in group) + ")" for group in terms)


def _sqlite_correct(index: TextIndex, words: list[str]) -> list[str] | None:
    """Replace each query word unknown to the index by the closest indexed term starting with the same three
    letters; None when nothing was corrected."""
    corrected, changed = [], False
    with connection.cursor() as cursor:
        for word in words:
            token = stem(word)
            cursor.execute(f"SELECT 1 FROM {index.terms_table} WHERE term = %s", [token])  # noqa: S608
            if cursor.fetchone() is not None or len(token) < 4:
                corrected.append(token)
                continue
            start = token[:3]
            cursor.execute(
                f"SELECT term FROM {index.terms_table} WHERE term >= %s AND term < %s",  # noqa: S608
                [start, start + "\uffff"],
            )
            candidates = [row[0] for row in cursor.fetchall() if not row[0].startswith(FILTER_TERM_PREFIX)]
            best = process.extractOne(token, candidates, scorer=fuzz.ratio, score_cutoff=TYPO_MIN_SCORE)
            if best is None:
                return None
            corrected.append(best[0])
            changed = True
    return corrected if changed else None


class OwnTableSQL(Expression):
    """Raw SQL about the queried model's own row, ``{table}`` being replaced by the alias the table has in
    this query (it becomes ``U0`` inside a subquery). Values go as parameters."""

    def __init__(self, template: str, params: tuple, output_field):
        super().__init__(output_field=output_field)
        self.template, self.params = template, params

    def as_sql(self, compiler, connection):
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return self.template.format(table=alias), self.params


@dataclass
class TextMatch:
    """A queryset narrowed to a text query, and how to rank it."""

    queryset: QuerySet
    rank_sql: str | None = None  # PostgreSQL: a relevance expression (higher is better)
    rank_params: tuple = ()
    sqlite_match: str | None = None  # SQLite: the FTS5 query, ranked with the FTS table's own ``rank``
    sqlite_terms: tuple = ()  # SQLite: its (stem, as a prefix) terms, to rank few rows on their documents
    approximate: bool = False  # no exact result: typo-tolerant results instead


def text_filter(
    queryset: QuerySet,
    index: TextIndex,
    text: str,
    *,
    tolerant: bool = True,
    narrow: bool | QuerySet = False,
    terms: Sequence[Sequence[str]] = (),
    prefix: bool = True,
) -> TextMatch:
    """Narrow ``queryset`` to the rows whose document matches every word of ``text`` (stemmed, accent- and
    case-insensitive, the last word as a prefix). With ``tolerant``, a query with no result is retried
    with typo tolerance (``approximate`` set; see ``typo_filter``). An empty query matches everything.

    ``terms`` are filter terms written in the documents (see ``filter_term``): groups of terms, OR-ed within
    a group and AND-ed with each other and the words, answered by the full-text index in the same lookup.
    An empty group matches nothing. The typo-tolerant retry does not use them (``queryset`` must then hold
    the same filters; ``run_search`` takes it as ``filtered``). Without ``prefix``, every word is matched
    whole, and (with ``tolerant``) the last one as a prefix when that finds nothing.

    ``narrow`` says the queryset's other filters are selective (a territory): SQLite then walks them first
    and tests the text matches as a set, instead of looking each match up (its planner cannot tell). It may
    also be a queryset of the territory's ids (``values("pk")``) that an index alone answers: SQLite then
    intersects it with the text matches before reading any row."""
    words = query_words(text)
    if any(not group for group in terms):
        return TextMatch(queryset.none())
    if not words and not terms:
        return TextMatch(queryset)
    if connection.vendor == "postgresql":
        tsquery = _postgres_tsquery(words, prefix=prefix)
        full = " & ".join(part for part in (tsquery, postgres_filter_terms(terms)) if part)
        vector = f'{{table}}."{index.vector_column}"'
        condition = OwnTableSQL(
            f"{vector} @@ to_tsquery('essaim_french', %s)", (full,), output_field=BooleanField()
        )
        match = TextMatch(queryset.filter(condition))
        if words:
            # Ranked on the words only: every row matches the filter terms alike.
            match.rank_sql = f"ts_rank({vector}, to_tsquery('essaim_french', %s))"
            match.rank_params = (tsquery,)
    else:
        expression = " AND ".join(
            part for part in (_sqlite_match(words, prefix=prefix), sqlite_filter_terms(terms)) if part
        )
        match = _sqlite_text_match(queryset, index, expression, narrow=False if terms else narrow)
        if not words:
            match.sqlite_match = None  # nothing to rank by
        last = len(words) - 1
        match.sqlite_terms = tuple(
            (stem(word), prefix and index_ == last and _prefixable(word)) for index_, word in enumerate(words)
        )
    if not words:
        return match
    if tolerant and not prefix and not match.queryset.exists():
        return text_filter(queryset, index, text, tolerant=tolerant, narrow=narrow, terms=terms, prefix=True)
    if tolerant and not match.queryset.exists():
        return typo_filter(queryset, index, text, narrow=narrow) or match
    return match


def typo_filter(
    queryset: QuerySet, index: TextIndex, text: str, *, narrow: bool | QuerySet = False
) -> TextMatch | None:
    """Typo-tolerant match of ``text`` (``approximate`` set), or None when nothing comes close.

    PostgreSQL: every word close to a word of the name (pg_trgm word similarity, default threshold 0.6).
    SQLite: every word unknown to the index replaced by the closest indexed term (same first three letters).
    """
    words = query_words(text)
    if not words:
        return None
    if connection.vendor == "postgresql":
        name = f'{{table}}."{index.name_column}"'
        similar = queryset
        for word in words:
            similar = similar.filter(OwnTableSQL(f"%s <%% {name}", (word,), output_field=BooleanField()))
        return TextMatch(
            similar,
            rank_sql=f"word_similarity(%s, {name})",
            rank_params=(" ".join(words),),
            approximate=True,
        )
    corrected = _sqlite_correct(index, words)
    if corrected is None:
        return None
    match = _sqlite_text_match(queryset, index, " ".join(f'"{token}"' for token in corrected), narrow=narrow)
    match.approximate = True
    match.sqlite_terms = tuple((token, False) for token in corrected)
    return match


def _sqlite_text_match(
    queryset: QuerySet, index: TextIndex, expression: str, *, narrow: bool | QuerySet
) -> TextMatch:
    matches = f"SELECT rowid FROM {index.fts_table} WHERE {index.fts_table} MATCH %s"  # noqa: S608
    if isinstance(narrow, QuerySet):
        # Both id lists come from indexes alone (FTS, territory): only their intersection reads rows.
        territory_sql, territory_params = narrow.order_by().query.sql_with_params()
        condition = OwnTableSQL(
            f'{{table}}."id" IN ({matches} INTERSECT {territory_sql})',
            (expression, *territory_params),
            output_field=BooleanField(),
        )
        return TextMatch(queryset.filter(condition), sqlite_match=expression)
    if narrow:
        # "+ 0": the match list is a set to test, not an index key to look every row up with.
        condition = OwnTableSQL(
            f'{{table}}."id" + 0 IN ({matches})', (expression,), output_field=BooleanField()
        )
        return TextMatch(queryset.filter(condition), sqlite_match=expression)
    ids = RawSQL(matches, (expression,))  # noqa: S611 (names from TextIndex, values as params)
    return TextMatch(queryset.filter(pk__in=ids), sqlite_match=expression)


@dataclass(frozen=True)
class FacetSpec:
    """A facet: ``count(selection)`` returns {value: count}; ``labels(values)`` returns {value: label}."""

    name: str
    label: str
    count: Callable[[QuerySet], dict]
    labels: Callable[[Sequence], dict]


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class Facet:
    name: str
    label: str
    values: list[FacetValue]


@dataclass
class SearchResult:
    """One page of a search: ``items`` (model instances, with ``distance_km`` when sorted from a centre),
    the ``total`` number of matches, ``facets`` (name -> Facet, see ``facets_sample``) and pagination."""

    total: int
    items: list
    facets: dict[str, Facet]
    page: int
    per_page: int
    sort: str
    approximate: bool = False
    # ``total`` is a lower bound (the count stopped there, see RADIUS_COUNT_CAP): "more than ``total``", and
    # the pages stop at ``num_pages``.
    total_capped: bool = False
    # Facets of a selection larger than FACET_IDS_LIMIT are counted on its first FACET_SAMPLE matches (as
    # found, in no particular order): this many; 0 when they count the whole selection.
    facets_sample: int = 0

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.page - 1

    @property
    def next_page_number(self) -> int:
        return self.page + 1


def _grouped_paths(specs: Sequence[FacetSpec]) -> dict[str, str]:
    """Facet name -> path of the facets counted on columns of the selection's own rows (``_count_by``)."""
    return {spec.name: spec.count.path for spec in specs if getattr(spec.count, "path", None)}


def _local_column(model, path: str) -> str:
    """The column of ``model``'s own row a facet path starts from ("commune__departement_id" ->
    "commune_id")."""
    if "__" not in path:
        return path
    return model._meta.get_field(path.split("__", 1)[0]).attname


def _counts_from_rows(model, paths: Sequence[str], rows: Sequence[tuple]) -> dict[str, dict]:
    """Path -> {value: count} over ``rows`` (tuples of the paths' ``_local_column`` values, read with the
    selection's ids): a path through a foreign key is resolved for the few distinct keys only."""
    by_path = {}
    for position, path in enumerate(paths):
        counts = Counter(row[position] for row in rows)
        if "__" in path:
            relation, rest = path.split("__", 1)
            related = model._meta.get_field(relation).related_model
            keys = [key for key in counts if key is not None]
            values = dict(related.objects.filter(pk__in=keys).values_list("pk", rest)) if keys else {}
            resolved = Counter()
            for key, n in counts.items():
                resolved[values.get(key)] += n
            counts = resolved
        by_path[path] = dict(counts)
    return by_path


def _facets(
    selection: QuerySet,
    specs: Sequence[FacetSpec],
    selected: dict,
    total: int,
    key: str,
    rows: Sequence[tuple] | None = None,
) -> dict:
    """Facets of ``selection``; ``rows``, when given, hold the ``_local_column`` values of the grouped facets'
    paths for every row of ``selection`` (no query needed for those)."""

    def compute():
        counted = {}
        # Facets counted on columns of the selection's own rows share one grouped query: the rows are
        # read once instead of once per facet.
        grouped = _grouped_paths(specs)
        if rows is not None and grouped:
            by_path = _counts_from_rows(selection.model, list(grouped.values()), rows)
        elif len(grouped) > 1:
            paths = list(grouped.values())
            grouped_rows = (
                selection.order_by().values(*paths).annotate(n=Count("pk")).values_list(*paths, "n")
            )
            by_path = {path: {} for path in paths}
            for *values, n in grouped_rows:
                for path, value in zip(paths, values, strict=True):
                    by_path[path][value] = by_path[path].get(value, 0) + n
        for spec in specs:
            in_rows = (rows is not None or len(grouped) > 1) and spec.name in grouped
            raw = by_path[grouped[spec.name]] if in_rows else None
            raw = spec.count(selection) if raw is None else raw
            counted[spec.name] = {str(value): n for value, n in raw.items() if value not in (None, "")}
        return counted

    if total > FACET_CACHE_ABOVE:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        counted = cache.get_or_set(f"essaim:facets:{digest}", compute, FACET_CACHE_SECONDS)
    else:
        counted = compute()
    facets = {}
    for spec in specs:
        counts = counted[spec.name]
        chosen = {str(value) for value in selected.get(spec.name, ())}
        labels = spec.labels(sorted(set(counts) | chosen))
        values = [
            FacetValue(value, labels.get(value, value), counts.get(value, 0), value in chosen)
            for value in set(counts) | chosen
        ]
        values.sort(key=lambda item: (-item.count, item.label))
        facets[spec.name] = Facet(spec.name, spec.label, values)
    return facets


def _measure(selection: QuerySet, *, with_ids: bool) -> tuple[int, list | None]:
    """(number of rows, their ids when at most FACET_IDS_LIMIT). Counting facets on a list of ids is much
    cheaper than evaluating the text match and the territory joins once more per facet."""
    if not with_ids:
        return selection.count(), None
    ids = list(selection.order_by().values_list("pk", flat=True)[: FACET_IDS_LIMIT + 1])
    if len(ids) > FACET_IDS_LIMIT:
        return selection.count(), None
    return len(ids), ids


def _has_document(model) -> bool:
    return any(field.name == "search_document" for field in model._meta.concrete_fields)


# BM25 parameters (those of FTS5's bm25()).
BM25_K1, BM25_B = 1.2, 0.75


def rank_by_documents(model, ids: list, terms: Sequence[tuple[str, bool]]) -> list:
    """``ids`` best first, scored in Python on their stored (stemmed) documents with BM25 term frequencies,
    ties by id. FTS5's own ``rank`` would compute each term's document frequency over the whole index first
    (a scan of every card holding a common word or a filter term); every row here holds every term, so that
    frequency would only weigh the terms against each other. ``terms``: (stem, also as a prefix)."""
    return rank_documents(
        list(_with_ids(model.objects.all(), ids).values_list("pk", "search_document")), terms
    )


def rank_documents(rows: Sequence[tuple], terms: Sequence[tuple[str, bool]]) -> list:
    """The ids of ``rows`` ((id, stored stemmed document)) best first, as ``rank_by_documents`` scores
    them."""
    if not rows:
        return []
    tokenised = [(pk, document.split()) for pk, document in rows]
    average = sum(len(tokens) for _pk, tokens in tokenised) / len(tokenised) or 1.0

    def score(tokens: list[str]) -> float:
        norm = BM25_K1 * (1 - BM25_B + BM25_B * len(tokens) / average)
        total = 0.0
        for term, as_prefix in terms:
            if as_prefix:
                frequency = sum(1 for token in tokens if token.startswith(term))
            else:
                frequency = tokens.count(term)
            total += frequency * (BM25_K1 + 1) / (frequency + norm) if frequency else 0.0
        return total

    return [pk for _score, pk in sorted((-score(tokens), pk) for pk, tokens in tokenised)]


def _with_ids(queryset: QuerySet, ids: Sequence) -> QuerySet:
    """``queryset.filter(pk__in=ids)`` with the ids as one parameter (a JSON array on SQLite, an array on
    PostgreSQL): thousands of ids are not compiled and bound one by one."""
    ids = [int(pk) for pk in ids]
    column = f'{{table}}."{queryset.model._meta.pk.column}"'
    if connection.vendor == "postgresql":
        condition = OwnTableSQL(f"{column} = ANY(%s::bigint[])", (ids,), output_field=BooleanField())
    else:
        condition = OwnTableSQL(
            f"{column} IN (SELECT value FROM json_each(%s))",  # noqa: S608 (column from the model)
            (json.dumps(ids),),
            output_field=BooleanField(),
        )
    return queryset.filter(condition)


def _id_selection(model, ids: list) -> QuerySet:
    """``model`` rows with these ids, the list kept as ``known_ids`` for facet counts that can use it
    directly (a subquery over the list makes SQLite scan the whole table)."""
    selection = _with_ids(model.objects.all(), ids)
    selection.known_ids = ids
    return selection


def run_search(
    *,
    queryset: QuerySet,
    index: TextIndex,
    text: str,
    sort: str,
    orderings: dict[str, Sequence],
    relevance: str,
    facets: Sequence[FacetSpec] = (),
    selected: dict | None = None,
    cache_key: str = "",
    page: int = 1,
    per_page: int = 20,
    narrow: bool | QuerySet = False,
    related: Sequence[str] = (),
    annotations: dict | None = None,
    terms: Sequence[Sequence[str]] = (),
    filtered: QuerySet | Callable[[], QuerySet] | None = None,
    prefix: bool = True,
    nearest: Callable[[int, int, bool], Iterable[QuerySet]] | None = None,
    count_cap: int | None = None,
    row_columns: Sequence[str] = (),
    order_rows: Callable[[dict, str], list | None] | None = None,
) -> SearchResult:
    """Search ``queryset`` (already filtered) for ``text`` and return one page.

    ``orderings`` maps each sort key to its ``order_by`` arguments; ``relevance`` is the sort key ranked by
    the text engine (falls back on the first ordering without text). ``facets`` are counted over the whole
    selection (over its first FACET_SAMPLE matches when larger than FACET_IDS_LIMIT: ``facets_sample``);
    ``selected`` maps facet names to the selected values. A page number out of range gives the nearest
    page. ``narrow``: see ``text_filter``. Page rows are read by primary key with ``related``
    (select_related) and ``annotations`` (e.g. a distance used by an ordering), without the filters again.
    ``terms`` (see ``text_filter``) stand for filters that ``queryset`` then need not repeat; ``filtered`` is
    the queryset with those filters (or a function building it, called only when needed), searched instead
    when there is no text or for the typo-tolerant retry.
    ``prefix``: the last word is also searched as a prefix (search as you type); without it, every word is
    matched whole (stemmed) and the last one as a prefix only when that finds nothing (cheaper: a prefix
    cannot use the index's skipping).
    ``nearest(needed, total, capped)``: for a sort by distance, querysets of growing discs smaller than the
    selection's, tried in turn until one holds the ``needed`` nearest rows of a large selection (the whole
    selection is sorted otherwise).
    ``count_cap``: count the matches up to this many only; beyond, ``total`` is that lower bound
    (``total_capped``) and the pages stop there. Its measure also reads ``row_columns`` of the rows; when
    that measure found every row, ``order_rows({pk: {column: value}}, sort)`` may return their ids in the
    order of ``sort`` (None: sorted by the database), sparing a second read of the rows.
    """
    if callable(filtered):
        filtered = functools.lru_cache(maxsize=1)(filtered)
    else:
        filtered = functools.partial(lambda qs: qs, queryset if filtered is None else filtered)
    if terms and not query_words(text):
        queryset, terms = filtered(), ()

    def by_pk(pks):
        return (
            _with_ids(queryset.model.objects.all(), pks)
            .select_related(*related)
            .annotate(**(annotations or {}))
        )

    def measure(match: TextMatch, as_prefix: bool) -> tuple[int, list | None]:
        """(total, ids when at most FACET_IDS_LIMIT)."""
        # A large selection's size is cached like its facets: counting a national selection is the slowest.
        facet_rows.clear()
        found_rows.clear()
        digest = hashlib.sha256(f"{cache_key}|{text}|{as_prefix}".encode()).hexdigest()[:32]
        total_key = "essaim:search-total:" + digest
        total = cache.get(total_key) if cache_key else None
        if total is not None:
            return total, None
        limit = FACET_IDS_LIMIT if count_cap is None else min(FACET_IDS_LIMIT, count_cap)
        if count_cap is None:
            head = list(match.queryset.order_by().values_list("pk", flat=True)[: limit + 1])
        else:
            # The grouped facets' columns come with the ids: the rows are read anyway (no second lookup).
            columns = (*local_columns, *row_columns)
            head_rows = list(match.queryset.order_by().values_list("pk", *columns)[: limit + 1])
            head = [row[0] for row in head_rows]
            facet_rows.update((row[0], row[1 : 1 + len(local_columns)]) for row in head_rows)
            if row_columns and len(head_rows) <= limit:
                found_rows.update((row[0], dict(zip(columns, row[1:], strict=True))) for row in head_rows)
        if len(head) <= limit:
            return len(head), head
        first_matches[:] = head[: min(FACET_SAMPLE, limit)]
        if count_cap is not None:
            if count_cap > limit:
                more = match.queryset.order_by().values_list("pk", flat=True)[: count_cap + 1]
                counted = len(list(more))
                if counted <= count_cap:
                    return counted, None
            capped[:] = [True]
            return count_cap, None
        total = match.queryset.count()
        if cache_key and total > FACET_CACHE_ABOVE:
            cache.set(total_key, total, FACET_CACHE_SECONDS)
        return total, None

    first_matches = []  # the first matches of a large selection, when measured
    capped = []  # [True] when the count stopped at ``count_cap``
    # With ``count_cap``: the grouped facets' columns of the measured ids (all of them, or the first matches).
    local_columns = [_local_column(queryset.model, path) for path in _grouped_paths(facets).values()]
    facet_rows = {}
    found_rows = {}  # with ``row_columns``: pk -> {column: value} of every row, when measured all

    match = text_filter(queryset, index, text, tolerant=False, narrow=narrow, terms=terms, prefix=prefix)
    total, ids = measure(match, prefix)
    used_prefix = prefix
    if total == 0 and not prefix and query_words(text):
        # No card has the last word whole: it may be a word being typed.
        match = text_filter(queryset, index, text, tolerant=False, narrow=narrow, terms=terms, prefix=True)
        total, ids = measure(match, True)
        used_prefix = True
    if total == 0 and text:
        approximate = typo_filter(filtered(), index, text, narrow=narrow)
        if approximate is not None:
            match = approximate
            total, ids = _measure(match.queryset, with_ids=bool(facets))
    selection = match.queryset
    ranked = bool(match.rank_sql or match.sqlite_match)
    first = next(iter(orderings))
    if sort == relevance and not ranked:
        sort = first
    elif sort != relevance and sort not in orderings:
        sort = relevance if ranked else first
    per_page = max(1, per_page)
    page = min(max(1, page), max(1, math.ceil(total / per_page)))
    offset = (page - 1) * per_page
    if sort == relevance and match.sqlite_match:
        # FTS5 ranks by bm25 inside the virtual table. "rowid + 0" keeps the MATCH the outer loop, run once,
        # with a membership test on the selection: a bare "rowid IN (...)" would run the MATCH once per id.
        if ids is not None:
            members_sql, members_params = ", ".join(["%s"] * len(ids)) or "NULL", list(ids)
        else:
            # The approximate match's expression has no filter terms: its members need every filter.
            members = filtered() if match.approximate else queryset
            members_sql, members_params = members.order_by().values("pk").query.sql_with_params()
        fts = index.fts_table
        sql = (
            f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s AND rowid + 0 IN ({members_sql}) "  # noqa: S608
            "ORDER BY rank, rowid LIMIT %s OFFSET %s"
        )
        page_ids = []
        if ids is not None and match.sqlite_terms and _has_document(queryset.model):
            page_ids = rank_by_documents(queryset.model, ids, match.sqlite_terms)[offset : offset + per_page]
        elif total:
            with connection.cursor() as cursor:
                cursor.execute(sql, (match.sqlite_match, *members_params, per_page, offset))
                page_ids = [row[0] for row in cursor.fetchall()]
        by_id = {item.pk: item for item in by_pk(page_ids)} if page_ids else {}
        items = [by_id[pk] for pk in page_ids if pk in by_id]
    elif (
        sort != relevance
        and order_rows is not None
        and found_rows
        and not match.approximate
        and (ordered := order_rows(found_rows, sort)) is not None
    ):
        page_ids = ordered[offset : offset + per_page]
        by_id = {item.pk: item for item in by_pk(page_ids)} if page_ids else {}
        items = [by_id[pk] for pk in page_ids if pk in by_id]
    else:
        # With the ids at hand, the page re-reads those rows only instead of the whole selection.
        source = by_pk(ids) if ids is not None else selection
        if ids is None and annotations:
            # The filters do not need them (nor their joins): only the sort of this page does.
            source = source.annotate(**annotations)
        if sort == relevance:
            rank = OwnTableSQL(match.rank_sql, match.rank_params, output_field=FloatField())
            source = source.annotate(search_rank=rank).order_by("-search_rank", *orderings[first])
        else:
            source = source.order_by(*orderings[sort])
        items = None
        if total and ids is None and sort != relevance and nearest is not None:
            # A large selection sorted by distance: its first rows are those of a smaller disc, when that
            # disc holds enough of them (no row outside it can come before a row inside it).
            for smaller in nearest(offset + per_page, total, bool(capped)):
                smaller = smaller.annotate(**(annotations or {})).order_by(*orderings[sort])
                head = list(smaller[: offset + per_page])
                if len(head) == offset + per_page:
                    items = head[offset:]
                    break
        if items is None:
            items = list(source[offset:][:per_page]) if total else []
    sample = []
    if ids is None and facets:
        # Counting each facet over a large selection costs as much as counting the selection again, once
        # per facet: they are counted on its first matches instead, and the result says so.
        sample = (
            first_matches
            if first_matches and not match.approximate
            else list(selection.order_by().values_list("pk", flat=True)[: min(FACET_SAMPLE, FACET_IDS_LIMIT)])
        )
    counted_ids = ids if ids is not None else sample
    rows = None
    if facet_rows and not match.approximate and all(pk in facet_rows for pk in counted_ids):
        rows = [facet_rows[pk] for pk in counted_ids]
    return SearchResult(
        total=total,
        items=items,
        facets=_facets(
            _id_selection(selection.model, counted_ids),
            facets,
            selected or {},
            total,
            f"{cache_key}|{text}|{used_prefix}",
            rows=rows,
        ),
        page=page,
        per_page=per_page,
        sort=sort,
        approximate=match.approximate,
        total_capped=bool(capped),
        facets_sample=len(sample),
    )


# -- structures -----------------------------------------------------------------------------------------


class Sort:
    """Sort keys of the structure search (values used in URLs)."""

    RELEVANCE = "pertinence"
    DISTANCE = "distance"
    NAME = "nom"
    NEWEST = "recent"

    choices = [
        (RELEVANCE, "Pertinence"),
        (DISTANCE, "Distance"),
        (NAME, "Nom"),
        (NEWEST, "Les plus récentes"),
    ]


STRUCTURE_INDEX = TextIndex(
    table="actors_structure",
    fts_table="actors_structure_fts",
    terms_table="actors_structure_fts_terms",
    vector_column="search_vector",
    name_column="search_name",
)

# Filters other apps provide (e.g. the exchange app's "has offers" / "has needs"): name -> function
# (queryset, value) -> queryset. Registered from their AppConfig.ready().
STRUCTURE_FILTER_HOOKS: dict[str, Callable[[QuerySet, object], QuerySet]] = {}


def register_structure_filter(name: str, function: Callable[[QuerySet, object], QuerySet]) -> None:
    """Make ``StructureFilters(extra={name: value})`` available (used by apps built on the directory)."""
    STRUCTURE_FILTER_HOOKS[name] = function


@dataclass(frozen=True)
class StructureFilters:
    """What a directory search selects (all optional; values within a field are OR-ed, fields AND-ed).

    ``themes`` / ``labels`` are slugs, ``communes`` / ``epcis`` / ``departements`` official codes,
    ``perimeter`` a ``territories.Perimeter`` or its pk, ``centre`` a (latitude, longitude) point with
    ``radius_km``, ``headcount_bands`` INSEE band codes. ``extra`` holds filters registered by other apps
    (``register_structure_filter``), e.g. {"has_offers": True}.
    """

    families: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()
    epcis: tuple[str, ...] = ()
    departements: tuple[str, ...] = ()
    perimeter: object = None
    centre: tuple[float, float] | None = None
    radius_km: float | None = None
    headcount_bands: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def cache_key(self) -> str:
        perimeter = getattr(self.perimeter, "pk", self.perimeter)
        return repr(
            (
                self.families,
                self.themes,
                self.labels,
                self.communes,
                self.epcis,
                self.departements,
                perimeter,
                self.centre,
                self.radius_km,
                self.headcount_bands,
                sorted(self.extra.items()),
            )
        )


def _territorial(filters: StructureFilters) -> bool:
    return bool(filters.perimeter is not None or filters.communes or filters.epcis or filters.departements)


def _territory_filter(queryset: QuerySet, filters: StructureFilters) -> QuerySet:
    """``queryset`` restricted to the territory of ``filters`` (communes, EPCI, départements, perimeter)."""
    from essaim.territories.models import Commune, PerimeterCommune

    if filters.communes:
        queryset = _in_communes(queryset, Commune.objects.filter(code__in=filters.communes).values("pk"))
    if filters.epcis:
        queryset = _in_communes(queryset, Commune.objects.filter(epci_id__in=filters.epcis).values("pk"))
    if filters.departements:
        communes = Commune.objects.filter(departement_id__in=filters.departements).values("pk")
        queryset = _in_communes(queryset, communes)
    if filters.perimeter is not None:
        perimeter_id = getattr(filters.perimeter, "pk", filters.perimeter)
        communes = PerimeterCommune.objects.filter(perimeter_id=perimeter_id).values("commune_id")
        queryset = _in_communes(queryset, communes)
    return queryset


def _in_communes(queryset: QuerySet, communes: QuerySet) -> QuerySet:
    """Rows of ``queryset`` whose commune is one of ``communes`` (a one-column queryset of commune ids).

    Not a join: PostgreSQL gets the ids as an array computed once, and then combines the commune index
    with the full-text index (bitmap AND) instead of reading every card of the territory; SQLite reads the
    territory's ids from the commune index alone."""
    if connection.vendor == "postgresql":
        sql, params = communes.query.sql_with_params()
        condition = OwnTableSQL(
            f'{{table}}."commune_id" = ANY(ARRAY({sql}))', tuple(params), output_field=BooleanField()
        )
        return queryset.filter(condition)
    return queryset.filter(commune_id__in=communes)


def _point_expressions():
    """(latitude, longitude) of a structure: its own point, else its commune's."""
    return (
        Coalesce("latitude", "commune__latitude"),
        Coalesce("longitude", "commune__longitude"),
    )


def _communes_around(centre: tuple[float, float], radius_km: float) -> list[tuple]:
    """(pk, latitude, longitude) of the communes within ``radius_km`` of ``centre`` (exact haversine)."""
    from essaim.territories.models import Commune

    lat, lon = centre
    dlat = radius_km / 111.2
    dlon = radius_km / max(0.01, 111.2 * math.cos(math.radians(lat)))
    box = {"latitude__range": (lat - dlat, lat + dlat), "longitude__range": (lon - dlon, lon + dlon)}
    points = Commune.objects.filter(**box).order_by().values_list("pk", "latitude", "longitude")
    return [(pk, *point) for pk, *point in points if haversine_km(centre, point) <= radius_km]


def _within_radius(
    queryset: QuerySet, centre: tuple[float, float], radius_km: float, communes: Sequence[tuple] | None = None
) -> QuerySet:
    """Structures within ``radius_km`` of ``centre`` (exact haversine); ``_distance`` gives their distance.

    A bounding box on the indexed latitude/longitude (or, for cards without their own point, on the
    communes') first keeps the exact computation to the few candidates. ``communes``: the
    ``_communes_around`` a larger (or the same) disc of the same centre, already read.
    """
    lat, lon = centre

    def square(half_km):
        dlat = half_km / 111.2
        dlon = half_km / max(0.01, 111.2 * math.cos(math.radians(lat)))
        return {"latitude__range": (lat - dlat, lat + dlat), "longitude__range": (lon - dlon, lon + dlon)}

    box = square(radius_km)
    # The communes within the radius, as values (a few dozen), computed here once: the cards without a
    # point of their own need no distance computed per row. (With a subquery, PostgreSQL would read the
    # whole table instead of combining the point index with the commune index.)
    if communes is None:
        communes = _communes_around(centre, radius_km)
    communes = [pk for pk, *point in communes if haversine_km(centre, point) <= radius_km]
    # "+latitude": the commune index must find the cards without a point, not the point index (most
    # cards have no point of their own: that would walk all of them).
    no_point = OwnTableSQL('+{table}."latitude" IS NULL', (), output_field=BooleanField())
    # The distance of the cards' own points only: the commune's point (and its join) is not needed here.
    queryset = queryset.alias(own_distance_km=_distance(centre, own=True))
    # Own points: inside the square inscribed in the circle (1 % smaller: the degrees-to-km scale varies
    # a little across it), no need to compute the distance.
    inner = square(0.99 * radius_km / math.sqrt(2))
    own_point = Q(**box) & (Q(**inner) | Q(own_distance_km__lte=radius_km))
    return queryset.filter(own_point | (Q(no_point) & Q(commune_id__in=communes)))


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points (the formula of ``_distance``)."""
    half_dlat = (math.radians(b[0]) - math.radians(a[0])) / 2
    half_dlon = (math.radians(b[1]) - math.radians(a[1])) / 2
    h = (
        math.sin(half_dlat) ** 2
        + math.cos(math.radians(a[0])) * math.cos(math.radians(b[0])) * math.sin(half_dlon) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def _distance(centre: tuple[float, float], *, own: bool = False):
    """Haversine distance in km from ``centre`` to a structure's point (its commune's without one; with
    ``own``, its own point only: NULL without one)."""
    lat, lon = centre
    point_lat, point_lon = (F("latitude"), F("longitude")) if own else _point_expressions()
    half_dlat = (Radians(point_lat) - math.radians(lat)) / 2
    half_dlon = (Radians(point_lon) - math.radians(lon)) / 2
    a = Power(Sin(half_dlat), 2) + math.cos(math.radians(lat)) * Cos(Radians(point_lat)) * Power(
        Sin(half_dlon), 2
    )
    return 2 * EARTH_RADIUS_KM * ASin(Sqrt(a), output_field=FloatField())


def structure_queryset(
    *,
    filters: StructureFilters = StructureFilters(),
    queryset: QuerySet | None = None,
    near_communes: Sequence[tuple] | None = None,
):
    """The structures of ``queryset`` (published ones by default) selected by ``filters``, without text.
    ``near_communes``: the ``_communes_around`` the centre within at least the radius, when already read.

    Raises ValueError for an ``extra`` filter no app registered.
    """
    return _structure_queryset(filters, queryset, with_term_filters=True, near_communes=near_communes)


@dataclass(frozen=True)
class _Taxonomy:
    """Themes and labels read once per search (one query): ``ids[(kind, slug)]``, ``slugs[(kind, pk)]``,
    ``labels[(kind, slug)]``, kind "t" (theme) or "l" (label)."""

    ids: dict
    slugs: dict
    labels: dict


def _taxonomy() -> _Taxonomy:
    from essaim.actors.models import Label, Theme

    columns = ("kind", "pk", "slug", "label")
    themes = Theme.objects.order_by().annotate(kind=Value("t")).values_list(*columns)
    labels = Label.objects.order_by().annotate(kind=Value("l")).values_list(*columns)
    rows = list(themes.union(labels, all=True))
    return _Taxonomy(
        ids={(kind, slug): pk for kind, pk, slug, _label in rows},
        slugs={(kind, pk): slug for kind, pk, slug, _label in rows},
        labels={(kind, slug): label for kind, _pk, slug, label in rows},
    )


def _filter_terms(filters: StructureFilters, taxonomy: _Taxonomy) -> list[list[str]]:
    """The filters of ``filters`` that the search documents answer (territory, themes, labels), as groups of
    filter terms for ``text_filter``; an unknown slug gives an empty group (no result, like the SQL)."""
    groups = []
    for values, kind in ((filters.themes, "t"), (filters.labels, "l")):
        if values:
            ids = [taxonomy.ids[kind, slug] for slug in values if (kind, slug) in taxonomy.ids]
            groups.append([filter_term(kind, pk) for pk in ids])
    for values, kind in ((filters.communes, "c"), (filters.epcis, "e"), (filters.departements, "d")):
        if values:
            groups.append([filter_term(kind, value) for value in values])
    if filters.perimeter is not None:
        groups.append(perimeter_terms(filters.perimeter))
    return groups


def perimeter_terms(perimeter) -> list[str]:
    """The filter terms of ``perimeter`` (an instance or an id), any of which a document must hold to be
    in it (see ``_perimeter_terms``). A perimeter changes rarely: cached a few minutes, keyed by its last
    change."""
    from essaim.territories.models import Perimeter

    perimeter_id = getattr(perimeter, "pk", perimeter)
    changed = getattr(perimeter, "updated_at", None)
    if changed is None:
        changed = Perimeter.objects.filter(pk=perimeter_id).values_list("updated_at", flat=True).first()
    key = f"essaim:perimeter-terms:{perimeter_id}:{changed.isoformat() if changed else ''}"
    return cache.get_or_set(key, lambda: _perimeter_terms(perimeter_id), FACET_CACHE_SECONDS)


def _perimeter_terms(perimeter_id) -> list[str]:
    """Filter terms of a perimeter: its whole départements, then its whole EPCI, then its other communes (a
    département-sized perimeter is one term instead of hundreds)."""
    from essaim.territories.models import Commune, PerimeterCommune

    rows = list(
        PerimeterCommune.objects.filter(perimeter_id=perimeter_id).values_list(
            "commune__code", "commune__departement_id", "commune__epci_id"
        )
    )
    terms = []
    for position, kind in ((1, "d"), (2, "e")):
        inside = Counter(row[position] for row in rows if row[position] is not None)
        lookup = "departement_id" if kind == "d" else "epci_id"
        sizes = dict(
            Commune.objects.filter(**{f"{lookup}__in": list(inside)})
            .values(lookup)
            .annotate(n=Count("pk"))
            .values_list(lookup, "n")
        )
        whole = {unit for unit, n in inside.items() if sizes.get(unit) == n}
        terms += [filter_term(kind, unit) for unit in sorted(whole, key=str)]
        rows = [row for row in rows if row[position] not in whole]
    return terms + [filter_term("c", code) for code, _d, _e in rows]


def _structure_queryset(
    filters: StructureFilters,
    queryset: QuerySet | None,
    *,
    with_term_filters: bool,
    near_communes: Sequence[tuple] | None = None,
):
    """``structure_queryset``; without ``with_term_filters``, the filters ``_filter_terms`` expresses are left
    to the full-text lookup."""
    from essaim.actors.models import Structure

    qs = Structure.objects.published() if queryset is None else queryset
    if filters.families:
        qs = qs.filter(family__in=filters.families)
    if not with_term_filters:
        covered = {"themes": (), "labels": (), "communes": (), "epcis": (), "departements": ()}
        filters = replace(filters, perimeter=None, **covered)
    through_filters = (
        (filters.themes, Structure.themes.through, "theme__slug__in"),
        (filters.labels, Structure.labels.through, "label__slug__in"),
    )
    # With a territory, SQLite must walk the territory and test each card's themes/labels through the
    # (structure, theme) index, not build the (large) set of every card of a theme.
    per_card = _territorial(filters) and connection.vendor == "sqlite"
    for values, through, lookup in through_filters:
        if values:
            # A subquery, not a join: no duplicate rows, and facet counts stay over the whole card. The
            # taxonomy ids are read first so the subquery is a plain index range on the through table.
            model = through._meta.get_field(lookup.split("__")[0]).related_model
            ids = list(model.objects.filter(slug__in=values).values_list("pk", flat=True))
            members = through.objects.filter(**{lookup.split("__")[0] + "_id__in": ids})
            if per_card:
                qs = qs.filter(Exists(members.filter(structure_id=OuterRef("pk"))))
            else:
                qs = qs.filter(pk__in=members.values("structure_id"))
    qs = _territory_filter(qs, filters)
    if filters.headcount_bands:
        qs = qs.filter(headcount_band__in=filters.headcount_bands)
    if filters.centre is not None and filters.radius_km:
        qs = _within_radius(qs, filters.centre, filters.radius_km, near_communes)
    for name, value in filters.extra.items():
        hook = STRUCTURE_FILTER_HOOKS.get(name)
        if hook is None:
            raise ValueError(f"Filtre inconnu : {name}")
        qs = hook(qs, value)
    return qs


def structure_selection(
    *,
    text: str = "",
    filters: StructureFilters = StructureFilters(),
    queryset: QuerySet | None = None,
    prefix: bool = False,
) -> QuerySet:
    """The whole selection of a search (every page), e.g. for exports. Typo tolerance included; ``prefix``
    as for ``structure_search``."""
    qs = structure_queryset(filters=filters, queryset=queryset)
    return text_filter(qs, STRUCTURE_INDEX, text, prefix=prefix).queryset


def _count_by(path: str):
    def count(selection: QuerySet) -> dict:
        rows = selection.order_by().values(path).annotate(n=Count("pk")).values_list(path, "n")
        return dict(rows)

    count.path = path  # lets ``_facets`` count several such facets in one query
    return count


def _count_through(through, column: str, slug_model, slugs: dict | None = None):
    def count(selection: QuerySet) -> dict:
        known_ids = getattr(selection, "known_ids", None)
        if known_ids and connection.vendor == "sqlite":
            # SQLite scans the whole table for a long "IN (...)" list; CROSS JOIN makes it walk the ids and
            # look each up in the (structure_id, <taxonomy>_id) index.
            table = through._meta.db_table
            sql = (
                f'SELECT t."{column}", COUNT(*) FROM json_each(%s) AS j '  # noqa: S608
                f'CROSS JOIN "{table}" AS t ON t."structure_id" = j.value GROUP BY 1'
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [json.dumps(known_ids)])
                rows = cursor.fetchall()
        else:
            members = (
                through.objects.filter(
                    OwnTableSQL('{table}."structure_id" = ANY(%s::bigint[])', (known_ids,), BooleanField())
                )
                if known_ids
                else through.objects.filter(structure_id__in=selection.order_by().values("pk"))
            )
            rows = (
                members.values(column)
                # Not Count("pk"): (structure_id, <taxonomy>_id) is a unique index, enough to count.
                .annotate(n=Count("structure_id"))
                .values_list(column, "n")
            )
        known = slugs if slugs is not None else dict(slug_model.objects.values_list("pk", "slug"))
        return {known[pk]: n for pk, n in rows if pk in known}

    return count


def _departement_labels(codes) -> dict:
    """Code -> "Name (code)" of these départements (names cached: they change with a territories load only;
    read again when a code is missing)."""
    from essaim.territories.models import Departement

    names = cache.get("essaim:departement-names") or {}
    if any(code not in names for code in codes):
        names = dict(Departement.objects.values_list("code", "name"))
        cache.set("essaim:departement-names", names, FACET_CACHE_SECONDS)
    return {code: f"{names[code]} ({code})" for code in codes if code in names}


def _structure_facets(taxonomy: _Taxonomy | None = None) -> list[FacetSpec]:
    from essaim.actors.models import Family, Label, Structure, Theme

    taxonomy = taxonomy or _taxonomy()

    def slugs(kind):
        return {pk: slug for (k, pk), slug in taxonomy.slugs.items() if k == kind}

    def labels(kind):
        return lambda values: {
            value: taxonomy.labels[kind, value] for value in values if (kind, value) in taxonomy.labels
        }

    family_labels = dict(Family.choices)
    return [
        FacetSpec(
            "families",
            "Famille",
            _count_by("family"),
            lambda values: {value: family_labels.get(value, value) for value in values},
        ),
        FacetSpec(
            "themes",
            "Thématique",
            _count_through(Structure.themes.through, "theme_id", Theme, slugs("t")),
            labels("t"),
        ),
        FacetSpec(
            "labels",
            "Réseau ou label",
            _count_through(Structure.labels.through, "label_id", Label, slugs("l")),
            labels("l"),
        ),
        FacetSpec(
            "departements",
            "Département",
            _count_by("commune__departement_id"),
            _departement_labels,
        ),
    ]


def structure_search(
    *,
    text: str = "",
    filters: StructureFilters = StructureFilters(),
    sort: str = "",
    page: int = 1,
    per_page: int = 20,
    queryset: QuerySet | None = None,
    prefix: bool = False,
) -> SearchResult:
    """Search the structures (published ones unless ``queryset`` says otherwise) and return one page.

    Words are matched whole (stemmed), the last one as a prefix when that finds nothing; with ``prefix``
    (search as you type), the last one always as a prefix too.

    ``sort`` is a ``Sort`` key; by default relevance with text, else distance with a centre, else name.
    Items carry ``distance_km`` when ``filters`` has a centre and radius. Facets (families, themes, labels,
    departements) count the whole selection, or its first matches when it is large (``facets_sample``).
    Raises ValueError for an unknown ``extra`` filter.
    """
    words = query_words(text)
    taxonomy = _taxonomy()
    terms = _filter_terms(filters, taxonomy) if words else []

    near = filters.centre is not None and bool(filters.radius_km)
    # Read once for the whole disc and the smaller ones sorted by distance.
    around = _communes_around(filters.centre, filters.radius_km) if near else None

    def full() -> QuerySet:
        return structure_queryset(filters=filters, queryset=queryset, near_communes=around).select_related(
            "commune"
        )

    orderings = {Sort.NAME: ("name", "pk"), Sort.NEWEST: ("-created_at", "-pk")}
    if near:
        orderings = {Sort.DISTANCE: ("distance_km", "name", "pk"), **orderings}
    if not sort:
        sort = Sort.RELEVANCE if words else (Sort.DISTANCE if near else Sort.NAME)
    selected = {
        "families": filters.families,
        "themes": filters.themes,
        "labels": filters.labels,
        "departements": filters.departements,
    }
    narrow = _territorial(filters) or near
    if terms:
        # The territory, themes and labels go to the full-text index with the text (see FILTER_TERM_PREFIX).
        narrow = near
    elif _territorial(filters) and connection.vendor == "sqlite":
        from essaim.actors.models import Structure

        # The territory's ids from the commune index alone, intersected with the text matches.
        narrow = _territory_filter(Structure.objects.all(), filters).values("pk")
    nearest = None
    if near and not words:

        def nearest(needed: int, total: int, capped: bool) -> Iterable[QuerySet]:
            # The disc's area in proportion to the rows needed, with a margin for uneven density. A capped
            # total is only a lower bound: start from a disc for a selection 16 times as large (a dense
            # city), and grow it 4 times in area until it holds enough rows (each try costs a quarter of the
            # next one).
            share = min(1.0, 4 * needed / max(total, 1) / (16 if capped else 1))
            while share < 0.5:
                smaller = replace(filters, radius_km=filters.radius_km * math.sqrt(share))
                yield structure_queryset(
                    filters=smaller, queryset=queryset, near_communes=around
                ).select_related("commune")
                if not capped:
                    return
                share *= 4

    if terms:
        base = _structure_queryset(
            filters, queryset, with_term_filters=False, near_communes=around
        ).select_related("commune")
    result = run_search(
        queryset=base if terms else full(),
        filtered=full,
        terms=terms,
        index=STRUCTURE_INDEX,
        text=text,
        sort=sort,
        orderings=orderings,
        relevance=Sort.RELEVANCE,
        facets=_structure_facets(taxonomy),
        selected=selected,
        cache_key="structures|" + filters.cache_key() + "|" + str(getattr(queryset, "query", "")),
        page=page,
        per_page=per_page,
        related=("commune",),
        annotations={"distance_km": _distance(filters.centre)} if near else None,
        narrow=narrow,
        prefix=prefix,
        nearest=nearest,
        count_cap=RADIUS_COUNT_CAP if near and not words else None,
        row_columns=("name", "latitude", "longitude", "commune_id") if near and not words else (),
        order_rows=functools.partial(_order_by_distance, filters.centre) if near and not words else None,
    )
    for item in result.items:
        if not hasattr(item, "distance_km"):
            item.distance_km = None
    return result


def _order_by_distance(centre: tuple[float, float], rows: dict, sort: str) -> list | None:
    """The ids of ``rows`` ({pk: {"name", "latitude", "longitude", "commune_id"}}) by distance from
    ``centre`` (their own point, else their commune's), then name and id, as the SQL ordering would sort
    them; None for another sort."""
    from essaim.territories.models import Commune

    if sort != Sort.DISTANCE:
        return None
    own = {pk for pk, row in rows.items() if row["latitude"] is not None and row["longitude"] is not None}
    missing = {row["commune_id"] for pk, row in rows.items() if pk not in own} - {None}
    communes = Commune.objects.filter(pk__in=missing) if missing else Commune.objects.none()
    points = {pk: (lat, lon) for pk, lat, lon in communes.values_list("pk", "latitude", "longitude")}
    keyed = []
    for pk, row in rows.items():
        point = (row["latitude"], row["longitude"]) if pk in own else points.get(row["commune_id"])
        if point is None or None in point:
            return None  # no point at all: leave the (NULLs last or first) order to the database
        keyed.append((haversine_km(centre, point), row["name"], pk))
    return [pk for _distance, _name, pk in sorted(keyed)]


# -- index maintenance ----------------------------------------------------------------------------------


def _sqlite_document(name, acronym, description, naf_label, commune, themes, labels, terms=None) -> str:
    """The SQLite document of a structure (an SQL function during ``structures_reindex``); the filter
    ``terms`` as they are (not stemmed)."""
    parts = [stemmed(part) for part in (name, acronym, description) if part]
    parts += [_stemmed_repeated(part) for part in (naf_label, commune, themes, labels) if part]
    if terms:
        parts.append(terms)
    return " ".join(parts)


def structure_terms(*, commune_code="", departement="", epci=None, theme_ids=(), label_ids=()) -> list[str]:
    """The filter terms of a structure's document (see ``filter_term``), for ``structure_document``."""
    terms = [filter_term("c", commune_code)] if commune_code else []
    terms += [filter_term("d", departement)] if departement else []
    terms += [filter_term("e", epci)] if epci is not None else []
    terms += [filter_term("t", pk) for pk in theme_ids] + [filter_term("l", pk) for pk in label_ids]
    return terms


def structure_document(
    *,
    name="",
    acronym="",
    description="",
    naf_label="",
    commune="",
    themes=(),
    labels=(),
    terms=(),
    vendor=None,
) -> str:
    """The search document ``structures_reindex`` would write for these values, for bulk writers that insert
    rows with their document at once (e.g. benchmark generators); ``terms`` from ``structure_terms``."""
    vendor = vendor or connection.vendor
    themes, labels, terms = " ".join(themes), " ".join(labels), " ".join(terms)
    if vendor == "postgresql":
        return " ".join(
            part for part in (name, acronym, description, naf_label, commune, themes, labels, terms) if part
        )
    return _sqlite_document(name, acronym, description, naf_label, commune, themes, labels, terms)


def _document_sql(vendor: str) -> str:
    """SQL expression of a structure's document (row alias ``s``), filter terms included (``filter_term``
    in SQL: ids and codes are already lower-case letters and digits once lowered)."""
    prefix = FILTER_TERM_PREFIX
    sources = (
        "s.name, s.acronym, s.description, s.naf_label, "
        "(SELECT c.name FROM territories_commune c WHERE c.id = s.commune_id), "
        "(SELECT {agg} FROM actors_structure_themes x JOIN actors_theme t ON t.id = x.theme_id "
        "WHERE x.structure_id = s.id), "
        "(SELECT {agg} FROM actors_structure_labels y JOIN actors_label t ON t.id = y.label_id "
        "WHERE y.structure_id = s.id), "
        "(SELECT {terms} FROM territories_commune c WHERE c.id = s.commune_id), "
        "(SELECT {agg_terms_t} FROM actors_structure_themes x WHERE x.structure_id = s.id), "
        "(SELECT {agg_terms_l} FROM actors_structure_labels y WHERE y.structure_id = s.id)"
    )
    commune_terms = (
        f"'{prefix}c' || lower(c.code) || ' {prefix}d' || lower(c.departement_id)"
        f" || coalesce(' {prefix}e' || c.epci_id, '')"
    )
    if vendor == "postgresql":
        return (
            "concat_ws(' ', "
            + sources.replace("{agg}", "string_agg(t.label, ' ')")
            .replace("{terms}", commune_terms)
            .replace("{agg_terms_t}", f"string_agg('{prefix}t' || x.theme_id, ' ')")
            .replace("{agg_terms_l}", f"string_agg('{prefix}l' || y.label_id, ' ')")
            + ")"
        )
    # The SQLite function takes the three term sources joined as one argument.
    sqlite_sources = (
        sources.replace("{agg}", "group_concat(t.label, ' ')")
        .replace("{terms}", commune_terms)
        .replace("{agg_terms_t}", f"group_concat('{prefix}t' || x.theme_id, ' ')")
        .replace("{agg_terms_l}", f"group_concat('{prefix}l' || y.label_id, ' ')")
    )
    head, commune_part, themes_part, labels_part = sqlite_sources.rsplit(", (", 3)
    return (
        f"essaim_search_document({head}, trim(coalesce(({commune_part}, '') || ' ' || "
        f"coalesce(({themes_part}, '') || ' ' || coalesce(({labels_part}, '')))"
    )


# Structures per statement when reindexing given ids (e.g. every card of a renamed theme).
REINDEX_IDS_CHUNK = 5000


def structures_reindex(*, ids=None, updated_since=None, using: str = "default") -> None:
    """Rewrite the search documents of the given structures (``ids``), of those changed since
    ``updated_since``, or of all; the index follows (SQLite triggers, PostgreSQL generated column).

    One SQL statement for ``updated_since`` or all rows (the SIRENE import calls it once at the end of a
    run); ``ids`` go by chunks of REINDEX_IDS_CHUNK to stay within the databases' parameter limits. Only rows
    whose document really changes are written.
    """
    if ids is not None:
        ids = [int(pk) for pk in ids]
        for start in range(0, len(ids), REINDEX_IDS_CHUNK):
            _reindex(ids=ids[start : start + REINDEX_IDS_CHUNK], updated_since=None, using=using)
        return
    _reindex(ids=None, updated_since=updated_since, using=using)


def _reindex(*, ids, updated_since, using: str) -> None:
    conn = connections[using]
    vendor = conn.vendor
    where, params = "", []
    if ids is not None:
        where = f"WHERE s.id IN ({', '.join(['%s'] * len(ids))})"
        params = ids
    elif updated_since is not None:
        where = "WHERE s.updated_at >= %s"
        params = [conn.ops.adapt_datetimefield_value(updated_since)]
    document = _document_sql(vendor)
    if vendor == "postgresql":
        sql = (
            f"UPDATE actors_structure AS target SET search_document = d.doc "  # noqa: S608
            f"FROM (SELECT s.id, {document} AS doc FROM actors_structure s {where}) AS d "
            "WHERE target.id = d.id AND target.search_document IS DISTINCT FROM d.doc"
        )
    else:
        conn.ensure_connection()
        conn.connection.create_function("essaim_search_document", 8, _sqlite_document, deterministic=True)
        sql = f"UPDATE actors_structure AS s SET search_document = {document} {where}"  # noqa: S608
    with conn.cursor() as cursor:
        cursor.execute(sql, params)


def search_index_rebuild(*, using: str = "default") -> None:
    """Rewrite every document and rebuild the engine's index from scratch (``essaim search_reindex``)."""
    conn = connections[using]
    structures_reindex(using=using)
    with conn.cursor() as cursor:
        if conn.vendor == "sqlite":
            fts = STRUCTURE_INDEX.fts_table
            for command in ("rebuild", "optimize"):
                cursor.execute(f"INSERT INTO {fts}({fts}) VALUES (%s)", [command])  # noqa: S608
        elif conn.vendor == "postgresql":
            cursor.execute("REINDEX INDEX actors_structure_search_vector")
            cursor.execute("ANALYZE actors_structure")
