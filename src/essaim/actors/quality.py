"""Quality score of a structure card (0-100) and the "à actualiser" (stale) flag.

The score is **completeness** (75 points: the fields people look for on a card) plus **recency** of the last
verification by a person (25 points):

============================  ======  ======================================================
criterion                     points  fulfilled when
============================  ======  ======================================================
Présentation                  15      the description is not empty
Courriel de contact           10      the public email is filled
Commune                       10      the card has a commune
Point sur la carte            10      the card has its own latitude/longitude
Thématique                    10      at least one theme that is not archived
Téléphone                     5       the phone is filled
Site web                      5       the website is filled
Adresse                       5       the street address is filled
SIREN ou RNA                  5       one of the two identifiers is filled
Vérifiée depuis moins d'un an 25      last verified less than 12 months ago
(or less than 18 months)      10      last verified 12 to 18 months ago
============================  ======  ======================================================

Every criterion is a database condition (``Q`` / ``Exists``), so that one definition serves three uses: the
score expression (:func:`score_expression`, stored by :func:`quality_refresh` in one UPDATE, cheap even for a
million rows), the filters of the facilitators' page (``missing=email``) and the list of what a card lacks
(:func:`missing_annotations`). The recency part depends on today's date: the daily task
``refresh_quality_scores`` keeps the stored scores true as time passes.
"""

import datetime
import operator
from dataclasses import dataclass
from functools import reduce

from django.db import models, transaction
from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.utils import timezone

from essaim.actors.models import Status, Structure

# A card not verified by a person for this long is flagged "à actualiser".
STALE_AFTER_MONTHS = 18
# Verified within this many months: full recency points.
FRESH_MONTHS = 12
RECENT_POINTS = 25
AGEING_POINTS = 10
# Rows per UPDATE when the whole table is refreshed.
REFRESH_CHUNK = 20_000


def months_before(day: datetime.date, months: int) -> datetime.date:
    """The same day ``months`` calendar months before ``day`` (the month's last day when it is shorter)."""
    month_index = day.year * 12 + (day.month - 1) - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)  # unreachable: every month has 28 days


def _has_active_theme() -> Exists:
    through = Structure.themes.through
    return Exists(through.objects.filter(structure_id=OuterRef("pk"), theme__archived_at__isnull=True))


@dataclass(frozen=True)
class Criterion:
    """One completeness criterion: ``condition()`` is the database condition met by a complete card."""

    key: str
    label: str
    weight: int
    condition: object  # callable returning a Q or an Exists

    def q(self):
        return self.condition()


CRITERIA: tuple[Criterion, ...] = (
    Criterion("description", "Présentation", 15, lambda: ~Q(description="")),
    Criterion("email", "Courriel de contact", 10, lambda: ~Q(email="")),
    Criterion("commune", "Commune", 10, lambda: Q(commune__isnull=False)),
    Criterion("point", "Point sur la carte", 10, lambda: Q(latitude__isnull=False, longitude__isnull=False)),
    Criterion("theme", "Thématique", 10, _has_active_theme),
    Criterion("phone", "Téléphone", 5, lambda: ~Q(phone="")),
    Criterion("website", "Site web", 5, lambda: ~Q(website="")),
    Criterion("address", "Adresse", 5, lambda: ~Q(address="")),
    Criterion("identifier", "SIREN ou RNA", 5, lambda: ~Q(siren="") | ~Q(rna="")),
)
CRITERIA_BY_KEY = {criterion.key: criterion for criterion in CRITERIA}
COMPLETENESS_POINTS = sum(criterion.weight for criterion in CRITERIA)


def stale_condition(today: datetime.date | None = None) -> Q:
    """Cards to refresh ("à actualiser"): last verified more than STALE_AFTER_MONTHS ago, or never verified
    and created more than STALE_AFTER_MONTHS ago."""
    today = today or timezone.localdate()
    cutoff = months_before(today, STALE_AFTER_MONTHS)
    cutoff_start = timezone.make_aware(datetime.datetime.combine(cutoff, datetime.time.min))
    return Q(last_verified_at__lt=cutoff) | Q(last_verified_at__isnull=True, created_at__lt=cutoff_start)


def is_stale(structure: Structure, today: datetime.date | None = None) -> bool:
    """The stale flag of one card (same rule as :func:`stale_condition`)."""
    today = today or timezone.localdate()
    cutoff = months_before(today, STALE_AFTER_MONTHS)
    if structure.last_verified_at is not None:
        return structure.last_verified_at < cutoff
    created = structure.created_at
    return created is not None and timezone.localdate(created) < cutoff


def _recency_expression(today: datetime.date):
    return Case(
        When(last_verified_at__gte=months_before(today, FRESH_MONTHS), then=Value(RECENT_POINTS)),
        When(last_verified_at__gte=months_before(today, STALE_AFTER_MONTHS), then=Value(AGEING_POINTS)),
        default=Value(0),
        output_field=models.IntegerField(),
    )


def score_expression(today: datetime.date | None = None):
    """The quality score (0-100) of each row of a Structure queryset, as one SQL expression.

    Sum of the weights of the fulfilled ``CRITERIA`` plus the recency points (see the module's table).
    """
    today = today or timezone.localdate()
    parts = [
        Case(
            When(criterion.q(), then=Value(criterion.weight)),
            default=Value(0),
            output_field=models.IntegerField(),
        )
        for criterion in CRITERIA
    ]
    parts.append(_recency_expression(today))
    return reduce(operator.add, parts)


def missing_annotations() -> dict[str, Case]:
    """``{"quality_<key>": boolean expression}``: whether each criterion is met, to annotate a queryset."""
    return {
        f"quality_{criterion.key}": Case(
            When(criterion.q(), then=Value(True)), default=Value(False), output_field=models.BooleanField()
        )
        for criterion in CRITERIA
    }


def missing_labels(annotated: Structure) -> list[str]:
    """French labels of the criteria an annotated structure (see :func:`missing_annotations`) lacks."""
    return [criterion.label for criterion in CRITERIA if not getattr(annotated, f"quality_{criterion.key}")]


def _refresh_rows(queryset, expression) -> int:
    # The changed rows are found by primary key: an UPDATE cannot carry the annotation itself.
    changed = queryset.alias(new_score=expression).exclude(quality_score=models.F("new_score"))
    return Structure.objects.filter(pk__in=changed.values("pk")).update(quality_score=expression)


def quality_refresh(*, queryset=None, today: datetime.date | None = None) -> int:
    """Store the current score of every structure of ``queryset`` (all structures by default).

    Written only on rows whose score changed (no churn for a daily refresh); returns the number of rows
    updated. Safe to run at any time: the score depends only on the card and the date. The whole table is
    refreshed by ranges of REFRESH_CHUNK ids, each UPDATE in its own transaction when called outside one, so
    that a refresh after a million-row import never holds a million row locks at once.
    """
    expression = score_expression(today)
    if queryset is not None:
        return _refresh_rows(queryset, expression)
    bounds = Structure.objects.aggregate(low=models.Min("pk"), high=models.Max("pk"))
    if bounds["low"] is None:
        return 0
    updated = 0
    for start in range(bounds["low"], bounds["high"] + 1, REFRESH_CHUNK):
        chunk = Structure.objects.filter(pk__gte=start, pk__lt=start + REFRESH_CHUNK)
        with transaction.atomic():
            updated += _refresh_rows(chunk, expression)
    return updated


def structure_quality_refresh(structure: Structure, *, today: datetime.date | None = None) -> int:
    """Recompute and store the score of one card (and set it on the instance); returns the score."""
    quality_refresh(queryset=Structure.objects.filter(pk=structure.pk), today=today)
    structure.quality_score = Structure.objects.values_list("quality_score", flat=True).get(pk=structure.pk)
    return structure.quality_score


@dataclass
class QualityReport:
    """What a facilitator sees of a card's quality."""

    score: int
    missing: list[str]
    stale: bool
    last_verified_at: datetime.date | None


def quality_report(structure: Structure, *, today: datetime.date | None = None) -> QualityReport:
    """The live score, missing criteria (French labels) and stale flag of one saved card (one query)."""
    today = today or timezone.localdate()
    annotated = (
        Structure.objects.filter(pk=structure.pk)
        .annotate(live_score=score_expression(today), **missing_annotations())
        .get()
    )
    return QualityReport(
        score=annotated.live_score,
        missing=missing_labels(annotated),
        stale=is_stale(annotated, today),
        last_verified_at=annotated.last_verified_at,
    )


def quality_queryset():
    """Cards a facilitator works on (not archived, not merged), with the per-criterion annotations."""
    return (
        Structure.objects.exclude(status=Status.ARCHIVED)
        .filter(merged_into__isnull=True)
        .annotate(**missing_annotations())
    )


def quality_refresh_later() -> None:
    """Recompute every stored score in the background once the current transaction commits (end of an
    import run: off the import's clock)."""
    # Imported here: the tasks module imports this one.
    from essaim.actors.tasks import refresh_quality_scores_now

    transaction.on_commit(refresh_quality_scores_now, robust=True)
