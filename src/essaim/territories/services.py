"""Write operations on territories: reference loads and perimeters."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction

from essaim.core.audit import log_action
from essaim.territories.cog import LoadSummary, territories_load_cog
from essaim.territories.exceptions import TerritoryError
from essaim.territories.laposte import PointsSummary, territories_geocode_missing, territories_load_points
from essaim.territories.models import (
    Commune,
    Departement,
    Epci,
    Perimeter,
    PerimeterCommune,
    PerimeterKind,
    Region,
)

__all__ = [
    "LoadSummary",
    "PerimeterReport",
    "PerimetersRebuild",
    "PointsSummary",
    "TerritoryError",
    "home_perimeter_get",
    "perimeter_communes_snapshot",
    "perimeter_save",
    "perimeter_set_home",
    "perimeters_rebuild",
    "territories_geocode_missing",
    "territories_load_cog",
    "territories_load_points",
]

_UNIT_LABELS = {"epci": "EPCI", "departement": "départements", "region": "régions", "commune": "communes"}


def _clean_codes(codes: Iterable[str]) -> list[str]:
    if isinstance(codes, str):  # a lone code passed instead of a list
        codes = [codes]
    return sorted({str(code).strip() for code in codes if str(code).strip()})


def _commune_ids_resolve(
    definition: dict[str, list[str]], *, strict: bool, unknown_codes: dict[str, list[str]] | None = None
) -> set[int]:
    """Commune ids covered by ``definition`` ({"epci": [...], "departement": [...], ...}).

    With ``strict``, unknown codes raise TerritoryError naming them; otherwise they are skipped and, when
    ``unknown_codes`` is given, recorded there (unit -> codes).
    """
    lookups = {
        "epci": (Epci, "epci_id"),
        "departement": (Departement, "departement_id"),
        "region": (Region, "departement__region_id"),
        "commune": (Commune, "code"),
    }
    unknown: list[str] = []
    commune_ids: set[int] = set()
    for unit, (model, commune_field) in lookups.items():
        codes = definition.get(unit) or []
        if not codes:
            continue
        known = set(model.objects.filter(code__in=codes).values_list("code", flat=True))
        missing = [code for code in codes if code not in known]
        if missing:
            unknown.append(f"{_UNIT_LABELS[unit]} : {', '.join(missing)}")
            if unknown_codes is not None:
                unknown_codes[unit] = missing
        if known:
            commune_ids.update(
                Commune.objects.filter(**{f"{commune_field}__in": known}).values_list("id", flat=True)
            )
    if unknown and strict:
        raise TerritoryError(
            "Codes inconnus — " + " ; ".join(unknown) + ". Chargez le COG ou corrigez les codes."
        )
    return commune_ids


def _perimeter_communes_sync(perimeter: Perimeter, commune_ids: set[int]) -> tuple[int, int]:
    """Make the perimeter's commune set exactly ``commune_ids``; return (added, removed)."""
    existing = set(PerimeterCommune.objects.filter(perimeter=perimeter).values_list("commune_id", flat=True))
    removed = existing - commune_ids
    added = commune_ids - existing
    removed_list = sorted(removed)
    for start in range(0, len(removed_list), 2000):
        PerimeterCommune.objects.filter(
            perimeter=perimeter, commune_id__in=removed_list[start : start + 2000]
        ).delete()
    PerimeterCommune.objects.bulk_create(
        [PerimeterCommune(perimeter=perimeter, commune_id=commune_id) for commune_id in sorted(added)],
        batch_size=2000,
    )
    return len(added), len(removed)


@transaction.atomic
def perimeter_save(
    *,
    slug: str,
    name: str,
    kind: str,
    epci_codes: Iterable[str] = (),
    departement_codes: Iterable[str] = (),
    region_codes: Iterable[str] = (),
    commune_codes: Iterable[str] = (),
    description: str = "",
    is_home: bool = False,
    actor=None,
) -> Perimeter:
    """Create or update (by ``slug``) a perimeter whose communes are the union of the given units.

    The previous commune set is replaced. ``is_home=True`` makes it the instance's home perimeter (the former
    one loses the flag); ``is_home=False`` leaves the home flag as it is on an existing perimeter.
    Raises TerritoryError (French) for an unknown kind, a blank slug/name, or unknown codes (all named).
    """
    slug = (slug or "").strip()
    name = (name or "").strip()
    if not slug or not name:
        raise TerritoryError("Un périmètre doit avoir un identifiant (slug) et un nom.")
    if kind not in PerimeterKind.values:
        raise TerritoryError(
            f"Type de périmètre inconnu : « {kind} » (attendu : {', '.join(PerimeterKind.values)})."
        )
    definition = {
        "epci": _clean_codes(epci_codes),
        "departement": _clean_codes(departement_codes),
        "region": _clean_codes(region_codes),
        "commune": _clean_codes(commune_codes),
    }
    definition = {unit: codes for unit, codes in definition.items() if codes}
    commune_ids = _commune_ids_resolve(definition, strict=True)

    perimeter = Perimeter.objects.select_for_update().filter(slug=slug).first()
    created = perimeter is None
    if created:
        perimeter = Perimeter.objects.create(
            slug=slug, name=name, kind=kind, description=description, definition=definition
        )
    else:
        perimeter.name, perimeter.kind, perimeter.description = name, kind, description
        perimeter.definition = definition
        perimeter.save(update_fields=["name", "kind", "description", "definition", "updated_at"])
    added, removed = _perimeter_communes_sync(perimeter, commune_ids)
    if is_home and not perimeter.is_home:
        perimeter = _home_set(perimeter)
    log_action(
        actor=actor,
        verb="territories.perimeter.created" if created else "territories.perimeter.updated",
        obj=perimeter,
        data={
            "slug": slug,
            "kind": kind,
            "definition": definition,
            "communes": len(commune_ids),
            "added": added,
            "removed": removed,
            "is_home": perimeter.is_home,
        },
    )
    return perimeter


def _home_set(perimeter: Perimeter) -> Perimeter:
    # Clear the old flag first: the partial unique constraint allows only one home perimeter.
    Perimeter.objects.filter(is_home=True).exclude(pk=perimeter.pk).update(is_home=False)
    perimeter.is_home = True
    perimeter.save(update_fields=["is_home", "updated_at"])
    return perimeter


@transaction.atomic
def perimeter_set_home(*, perimeter: Perimeter, actor=None) -> Perimeter:
    """Make ``perimeter`` the instance's home perimeter ("territoire d'action"); the previous one loses it."""
    previous = Perimeter.objects.home().exclude(pk=perimeter.pk).values_list("slug", flat=True).first()
    perimeter = _home_set(perimeter)
    log_action(actor=actor, verb="territories.perimeter.set_home", obj=perimeter, data={"previous": previous})
    return perimeter


def home_perimeter_get() -> Perimeter | None:
    """The home perimeter, or None. One indexed query; use ``home_perimeter_for_request`` in views."""
    return Perimeter.objects.home().first()


def home_perimeter_for_request(request) -> Perimeter | None:
    """The home perimeter, fetched at most once per request."""
    if not hasattr(request, "_essaim_home_perimeter"):
        request._essaim_home_perimeter = home_perimeter_get()
    return request._essaim_home_perimeter


@dataclass
class PerimeterReport:
    """What a COG update did to one perimeter that needs a look (unknown codes, renamed communes...)."""

    slug: str
    name: str
    is_home: bool
    unknown: dict[str, list[str]] = field(default_factory=dict)  # unit -> codes gone from the COG
    renamed: dict[str, str] = field(default_factory=dict)  # merged commune code -> its successor
    # The definition resolved to no commune at all: the previous communes were kept instead.
    kept_previous: bool = False
    communes: int = 0

    @property
    def needs_attention(self) -> bool:
        return bool(self.unknown) or self.kept_previous

    def message(self) -> str:
        """A French sentence for the command output."""
        home = " (territoire d'action)" if self.is_home else ""
        parts = []
        if self.renamed:
            parts.append(
                "communes fusionnées remplacées par leur commune nouvelle : "
                + ", ".join(f"{old} → {new}" for old, new in sorted(self.renamed.items()))
            )
        if self.unknown:
            gone = (f"{_UNIT_LABELS[unit]} : {', '.join(codes)}" for unit, codes in self.unknown.items())
            parts.append("codes disparus du COG, ignorés : " + " ; ".join(gone))
        if self.kept_previous:
            parts.append(
                f"le périmètre serait devenu vide : ses {self.communes} communes précédentes sont conservées"
            )
        if self.needs_attention:
            parts.append("à corriger (essaim perimeter_save)")
        return f"Périmètre « {self.name} »{home} : " + " ; ".join(parts) + "."

    def as_data(self) -> dict:
        return {
            "slug": self.slug,
            "is_home": self.is_home,
            "unknown": self.unknown,
            "renamed": self.renamed,
            "kept_previous": self.kept_previous,
            "communes": self.communes,
        }


@dataclass
class PerimetersRebuild:
    changed: int = 0  # perimeters whose commune set changed
    reports: list[PerimeterReport] = field(default_factory=list)


def perimeter_communes_snapshot() -> dict[int, set[str]]:
    """Commune codes of every perimeter (perimeter id -> codes), to take before communes are deleted."""
    snapshot: dict[int, set[str]] = {}
    for perimeter_id, code in PerimeterCommune.objects.values_list("perimeter_id", "commune__code"):
        snapshot.setdefault(perimeter_id, set()).add(code)
    return snapshot


def _commune_ids_for_codes(codes: Iterable[str]) -> set[int]:
    codes = sorted(codes)
    ids: set[int] = set()
    for start in range(0, len(codes), 2000):
        ids.update(Commune.objects.filter(code__in=codes[start : start + 2000]).values_list("id", flat=True))
    return ids


def perimeters_rebuild(
    *, successors: dict[str, str] | None = None, previous: dict[int, set[str]] | None = None
) -> PerimetersRebuild:
    """Recompute every perimeter's communes from its stored definition (after a COG load).

    ``successors`` maps merged commune codes to the current commune that absorbed them: such codes are
    replaced in the definition (saved). Other codes gone from the COG are skipped and reported. A perimeter
    whose definition now resolves to no commune keeps its previous communes (``previous``, taken by
    :func:`perimeter_communes_snapshot` before the deletions, mapped through ``successors``; by default its
    current ones) and is reported as needing attention: the home perimeter is never silently emptied.
    Never raises for unknown codes.
    """
    successors = successors or {}
    result = PerimetersRebuild()
    for perimeter in Perimeter.objects.order_by("slug"):
        if not perimeter.definition:
            continue
        report = PerimeterReport(slug=perimeter.slug, name=perimeter.name, is_home=perimeter.is_home)
        definition = dict(perimeter.definition)
        commune_codes = definition.get("commune") or []
        report.renamed = {code: successors[code] for code in commune_codes if code in successors}
        if report.renamed:
            definition["commune"] = sorted({successors.get(code, code) for code in commune_codes})
            perimeter.definition = definition
            perimeter.save(update_fields=["definition", "updated_at"])
        commune_ids = _commune_ids_resolve(definition, strict=False, unknown_codes=report.unknown)
        if not commune_ids:
            if previous is None:
                kept = set(perimeter.commune_links.values_list("commune_id", flat=True))
            else:
                codes = previous.get(perimeter.pk, set())
                kept = _commune_ids_for_codes({successors.get(code, code) for code in codes})
            if kept:
                commune_ids, report.kept_previous = kept, True
        report.communes = len(commune_ids)
        added, removed = _perimeter_communes_sync(perimeter, commune_ids)
        result.changed += bool(added or removed)
        if report.renamed or report.needs_attention:
            result.reports.append(report)
    return result
