"""Duplicate structure cards: finding candidate pairs, remembering "not a duplicate", merging two cards.

Candidates share a SIREN (the card's or an establishment's SIRET prefix), a website, an email, or have a
similar name (accent-insensitive fuzzy match with rapidfuzz) within 1 km, or in the same commune when a
point is missing. Comparisons are made inside blocks (same SIREN / domain / email / commune / ~1 km grid
cell), never between all pairs.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from rapidfuzz import fuzz
from rapidfuzz.process import extract

from essaim.actors import history
from essaim.actors.geo import map_sync
from essaim.actors.models import (
    DuplicateDismissal,
    Establishment,
    FieldProvenance,
    Membership,
    MembershipRole,
    Status,
    Structure,
    VersionKind,
)
from essaim.actors.quality import structure_quality_refresh
from essaim.actors.search import structures_reindex
from essaim.core.audit import log_action
from essaim.core.text import normalize

NAME_THRESHOLD = 90  # rapidfuzz token_set_ratio on names stripped of generic words, 0-100.
MAX_DISTANCE_M = 1000
# Grid cells for the name blocking: 0.01° of latitude is 1.1 km, 0.02° of longitude is >= 1 km up to 63° N.
_CELL_LAT, _CELL_LON = 0.01, 0.02
# Words that say what kind of structure it is, not which one: "Association A" and "Association B" differ.
_GENERIC = "a au aux d de des du en et l la le les pour sur un une association asso cooperative scop scic"
_GENERIC += " sas sarl sa sasu eurl cae fondation mutuelle mutuel societe federation union collectif comite"
GENERIC_WORDS = frozenset(_GENERIC.split())
# Hosts shared by many structures: the path tells them apart.
SHARED_HOSTS = frozenset(
    {
        "facebook.com",
        "fr-fr.facebook.com",
        "m.facebook.com",
        "instagram.com",
        "linkedin.com",
        "twitter.com",
        "x.com",
        "helloasso.com",
        "youtube.com",
        "sites.google.com",
        "linktr.ee",
    }
)


def name_key(name: str) -> str:
    """The name normalised (accents, case, punctuation) without generic words, for fuzzy comparison."""
    words = [word for word in normalize(name).split() if word not in GENERIC_WORDS]
    return " ".join(words) or normalize(name)


def website_key(website: str) -> str:
    """The website's host without "www." (plus the path on shared hosts such as facebook.com); "" if none."""
    if not website:
        return ""
    try:
        parts = urlsplit(website if "://" in website else f"https://{website}")
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    host = host.removeprefix("www.")
    if host in SHARED_HOSTS:
        path = parts.path.strip("/").lower()
        return f"{host}/{path}" if path else ""
    return host


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(min(1.0, h)))


@dataclass
class _Card:
    """What the comparison needs of a structure (id None for a card being typed)."""

    id: int | None
    name_key: str
    sirens: frozenset[str]
    website: str
    email: str
    commune_id: str | None
    point: tuple[float, float] | None


@dataclass
class DuplicateCandidate:
    first: Structure
    second: Structure
    reasons: list[str]
    score: int


@dataclass
class SimilarStructure:
    structure: Structure
    reasons: list[str] = field(default_factory=list)
    score: int = 0


_CARD_VALUES = (
    "id",
    "name",
    "siren",
    "website",
    "email",
    "commune_id",
    "latitude",
    "longitude",
    "commune__latitude",
    "commune__longitude",
)


def _active_structures():
    """Cards that can still be duplicates: not archived (merged cards are archived)."""
    return Structure.objects.exclude(status=Status.ARCHIVED).filter(merged_into__isnull=True)


def _cards(queryset) -> dict[int, _Card]:
    rows = list(queryset.values_list(*_CARD_VALUES))
    ids = [row[0] for row in rows]
    sirens: dict[int, set[str]] = defaultdict(set)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for structure_id, siret in Establishment.objects.filter(structure_id__in=chunk).values_list(
            "structure_id", "siret"
        ):
            sirens[structure_id].add(siret[:9])
    cards = {}
    for pk, name, siren, website, email, commune_id, lat, lon, clat, clon in rows:
        if siren:
            sirens[pk].add(siren)
        point = (lat, lon) if lat is not None else ((clat, clon) if clat is not None else None)
        cards[pk] = _Card(
            id=pk,
            name_key=name_key(name),
            sirens=frozenset(sirens[pk]),
            website=website_key(website),
            email=(email or "").strip().lower(),
            commune_id=commune_id,
            point=point,
        )
    return cards


def _reasons(a: _Card, b: _Card) -> tuple[list[str], int]:
    """Why ``a`` and ``b`` look like the same structure (French), with a score to sort by."""
    reasons, score = [], 0
    if a.sirens & b.sirens:
        reasons.append("même SIREN")
        score += 100
    name_score = fuzz.token_set_ratio(a.name_key, b.name_key)
    if name_score >= NAME_THRESHOLD:
        percent = round(name_score)
        if a.point is not None and b.point is not None:
            distance = haversine_m(a.point, b.point)
            if distance <= MAX_DISTANCE_M:
                reasons.append(f"nom proche ({percent} %) à {round(distance, -1):.0f} m")
                score += percent
        elif a.commune_id is not None and a.commune_id == b.commune_id:
            reasons.append(f"nom proche ({percent} %) dans la même commune")
            score += percent
    if a.website and a.website == b.website:
        reasons.append("même site web")
        score += 80
    if a.email and a.email == b.email:
        reasons.append("même courriel")
        score += 80
    return reasons, score


def _cell(point: tuple[float, float]) -> tuple[int, int]:
    return (math.floor(point[0] / _CELL_LAT), math.floor(point[1] / _CELL_LON))


def _blocks(cards: dict[int, _Card]) -> tuple[list[list[int]], list[list[int]]]:
    """Groups of card ids worth comparing: (exact-key blocks: same SIREN, website or email; name blocks:
    same commune or neighbouring grid cells, where only similar names count)."""
    keyed: dict[tuple, list[int]] = defaultdict(list)
    communes: dict[str, list[int]] = defaultdict(list)
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for card in cards.values():
        for siren in card.sirens:
            keyed[("siren", siren)].append(card.id)
        if card.website:
            keyed[("web", card.website)].append(card.id)
        if card.email:
            keyed[("email", card.email)].append(card.id)
        if card.commune_id is not None:
            communes[card.commune_id].append(card.id)
        if card.point is not None:
            cells[_cell(card.point)].append(card.id)
    exact = [ids for ids in keyed.values() if len(ids) > 1]
    by_name = [ids for ids in communes.values() if len(ids) > 1]
    # Each cell is compared with itself and its neighbours (3x3): two points 1 km apart are in adjacent cells.
    for i, j in list(cells):
        neighbours = [pk for di in (-1, 0, 1) for dj in (-1, 0, 1) for pk in cells.get((i + di, j + dj), ())]
        if len(neighbours) > 1:
            by_name.append(neighbours)
    return exact, by_name


def _dismissed_pairs(ids) -> set[tuple[int, int]]:
    ids = list(ids)
    pairs = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        pairs.update(
            DuplicateDismissal.objects.filter(models.Q(first_id__in=chunk) | models.Q(second_id__in=chunk))
            .values_list("first_id", "second_id")
            .iterator()
        )
    return pairs


def duplicate_candidates(*, structure: Structure | None = None, limit: int = 50) -> list[DuplicateCandidate]:
    """Pairs of active cards that look like duplicates, strongest first, at most ``limit``.

    With ``structure``, only the pairs that include it. Pairs marked "not a duplicate" are left out.
    Each candidate has French reasons ("même SIREN", "nom proche (92 %) à 300 m", "même site web").
    """
    if structure is not None:
        found = structure_find_similar(
            name=structure.name,
            commune=structure.commune,
            siren=structure.siren,
            website=structure.website,
            email=structure.email,
            latitude=structure.latitude,
            longitude=structure.longitude,
            exclude=structure,
        )
        dismissed = _dismissed_pairs([structure.pk])
        result = []
        for item in found:
            first, second = sorted((structure, item.structure), key=lambda s: s.pk)
            if (first.pk, second.pk) not in dismissed:
                result.append(DuplicateCandidate(first, second, item.reasons, item.score))
        return result[:limit]

    cards = _cards(_active_structures())
    pairs: set[tuple[int, int]] = set()
    exact, by_name = _blocks(cards)
    for block in exact:
        pairs.update((a, b) for a in block for b in block if a < b)
    for block in by_name:
        keys = [cards[pk].name_key for pk in block]
        for x, pk_a in enumerate(block):
            # rapidfuzz compares one name with the rest of the block in C, keeping only the close ones.
            for _key, _score, y in extract(
                keys[x], keys, scorer=fuzz.token_set_ratio, score_cutoff=NAME_THRESHOLD, limit=None
            ):
                if y > x and block[y] != pk_a:
                    pairs.add((min(pk_a, block[y]), max(pk_a, block[y])))
    dismissed = _dismissed_pairs({pk for pair in pairs for pk in pair})
    found = []
    for pk_a, pk_b in pairs:
        if (pk_a, pk_b) in dismissed:
            continue
        reasons, score = _reasons(cards[pk_a], cards[pk_b])
        if reasons:
            found.append(((pk_a, pk_b), reasons, score))
    found.sort(key=lambda item: (-item[2], item[0]))
    found = found[:limit]
    structures = Structure.objects.select_related("commune").in_bulk({pk for item in found for pk in item[0]})
    return [
        DuplicateCandidate(structures[a], structures[b], reasons, score) for (a, b), reasons, score in found
    ]


def structure_find_similar(
    *,
    name: str,
    commune=None,
    siren: str = "",
    website: str = "",
    email: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    exclude: Structure | None = None,
    limit: int = 10,
) -> list[SimilarStructure]:
    """Existing active cards that look like the one being entered, with French reasons, strongest first.

    ``siren`` may also be a SIRET (its first 9 digits are used). Nothing is written.
    """
    siren = "".join(ch for ch in (siren or "") if ch.isdigit())[:9]
    if commune is not None and not hasattr(commune, "pk"):
        from essaim.territories.models import Commune

        commune = Commune.objects.filter(pk=commune).first()
    point = None
    if latitude is not None and longitude is not None:
        point = (latitude, longitude)
    elif commune is not None and commune.latitude is not None:
        point = (commune.latitude, commune.longitude)
    new = _Card(
        id=None,
        name_key=name_key(name or ""),
        sirens=frozenset({siren}) if len(siren) == 9 else frozenset(),
        website=website_key(website),
        email=(email or "").strip().lower(),
        commune_id=commune.pk if commune is not None else None,
        point=point,
    )
    condition = models.Q(pk__in=[])
    if new.sirens:
        condition |= models.Q(siren=siren) | models.Q(establishments__siret__startswith=siren)
    if new.email:
        condition |= models.Q(email__iexact=new.email)
    if new.website:
        condition |= models.Q(website__icontains=new.website.split("/")[0])
    if new.commune_id is not None:
        condition |= models.Q(commune_id=new.commune_id)
    if point is not None:
        lat, lon = point
        dlat = MAX_DISTANCE_M / 111_000
        dlon = dlat / max(0.1, math.cos(math.radians(lat)))
        box = {"range": (lat - dlat, lat + dlat)}, {"range": (lon - dlon, lon + dlon)}
        condition |= models.Q(latitude__range=box[0]["range"], longitude__range=box[1]["range"])
        condition |= models.Q(
            latitude__isnull=True,
            commune__latitude__range=box[0]["range"],
            commune__longitude__range=box[1]["range"],
        )
    queryset = _active_structures().filter(condition)
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    # Bounded: a commune block is small, the rest are exact keys.
    cards = _cards(queryset.distinct()[:2000])
    found = []
    for card in cards.values():
        reasons, score = _reasons(new, card)
        if reasons:
            found.append((card.id, reasons, score))
    found.sort(key=lambda item: (-item[2], item[0]))
    found = found[:limit]
    structures = Structure.objects.select_related("commune").in_bulk([item[0] for item in found])
    return [SimilarStructure(structures[pk], reasons, score) for pk, reasons, score in found]


@transaction.atomic
def duplicate_dismiss(*, first: Structure, second: Structure, actor) -> DuplicateDismissal:
    """Remember that ``first`` and ``second`` are not the same structure (idempotent) and log it.

    Raises ValidationError for a card compared with itself.
    """
    if first.pk == second.pk:
        raise ValidationError("Une fiche ne peut pas être comparée à elle-même.")
    low, high = sorted((first, second), key=lambda s: s.pk)
    dismissal, created = DuplicateDismissal.objects.get_or_create(
        first=low, second=high, defaults={"dismissed_by": actor if actor.is_authenticated else None}
    )
    if created:
        log_action(
            actor=actor,
            verb="actors.structure.not_duplicate",
            obj=low,
            data={"first": low.pk, "second": high.pk},
        )
    return dismissal


# Fields chosen together in a merge (a cooperative kind goes with its family, a longitude with its latitude).
MERGE_FIELDS: dict[str, tuple[str, str, ...]] = {
    "name": ("Nom", "name"),
    "acronym": ("Sigle", "acronym"),
    "family": ("Famille", "family", "cooperative_kind"),
    "siren": ("SIREN", "siren"),
    "rna": ("Numéro RNA", "rna"),
    "legal_category": ("Catégorie juridique", "legal_category"),
    "sirene_ess_flag": ("Signalée ESS par SIRENE", "sirene_ess_flag"),
    "is_societe_mission": ("Société à mission", "is_societe_mission"),
    "naf_code": ("Activité principale (NAF)", "naf_code", "naf_label"),
    "headcount_band": ("Tranche d'effectifs", "headcount_band"),
    "creation_date": ("Date de création", "creation_date"),
    "commune": ("Commune", "commune"),
    "address": ("Adresse", "address"),
    "point": ("Position (latitude, longitude)", "latitude", "longitude"),
    "website": ("Site web", "website"),
    "email": ("Courriel", "email"),
    "phone": ("Téléphone", "phone"),
    "description": ("Présentation", "description"),
    "opening_hours": ("Horaires d'ouverture", "opening_hours"),
}
KEEP, REMOVE = "keep", "remove"


def _column(field_name: str) -> str:
    return f"{field_name}_id" if field_name in ("commune", "legal_category") else field_name


def merge_values(structure: Structure, key: str) -> tuple:
    """The stored values of merge field ``key`` on ``structure`` (foreign keys as primary keys)."""
    return tuple(getattr(structure, _column(name)) for name in MERGE_FIELDS[key][1:])


def merge_differing_fields(first: Structure, second: Structure) -> list[str]:
    """Keys of ``MERGE_FIELDS`` whose values differ between the two cards."""
    return [key for key in MERGE_FIELDS if merge_values(first, key) != merge_values(second, key)]


def _move_generic_relations(keep: Structure, remove: Structure, handled: set[str]) -> dict[str, int]:
    """Re-point every other relation to ``remove`` (found through ``_meta``) at ``keep``.

    A row that would break a unique constraint on ``keep`` stays on the archived card.
    """
    moved = {}
    for relation in Structure._meta.related_objects:
        name = relation.get_accessor_name()
        if not name or name in handled:
            continue
        model, fk = relation.related_model, relation.field
        count = 0
        if relation.many_to_many:
            for obj in model._default_manager.filter(**{fk.name: remove}):
                getattr(obj, fk.name).add(keep)
                getattr(obj, fk.name).remove(remove)
                count += 1
        else:
            for obj in model._default_manager.filter(**{fk.name: remove}):
                try:
                    with transaction.atomic():
                        model._default_manager.filter(pk=obj.pk).update(**{fk.name: keep})
                    count += 1
                except IntegrityError:
                    pass
        if count:
            moved[f"{model._meta.label_lower}.{fk.name}"] = count
    return moved


@transaction.atomic
def structures_merge(
    *, keep: Structure, remove: Structure, field_choices: dict[str, str], actor
) -> Structure:
    """Merge ``remove`` into ``keep``; return ``keep``.

    For each key of ``MERGE_FIELDS``, ``field_choices`` says which card's value wins ("keep", the default, or
    "remove"); the winning value's provenance comes with it. Establishments, memberships (an existing
    membership of the same person is kept, with the higher role), themes and labels (union) and every other
    relation move to ``keep``. ``remove`` is archived with ``merged_into`` = ``keep`` and keeps its own
    provenance rows as history. The choices and the replaced values go to the audit log.
    Raises ValidationError (French) for a card merged with itself, an already merged card, an unknown
    field or choice, or a resulting card that is invalid; nothing is written then.
    """
    if keep.pk == remove.pk:
        raise ValidationError("Une fiche ne peut pas être fusionnée avec elle-même.")
    unknown = set(field_choices) - set(MERGE_FIELDS)
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    if any(choice not in (KEEP, REMOVE) for choice in field_choices.values()):
        raise ValidationError("Choix inconnu : « keep » ou « remove » attendu.")
    locked = Structure.objects.select_for_update().in_bulk([keep.pk, remove.pk])
    keep, remove = locked[keep.pk], locked[remove.pk]
    if keep.merged_into_id or remove.merged_into_id:
        raise ValidationError("Une de ces fiches a déjà été fusionnée dans une autre.")

    replaced = {}
    taken = [key for key, choice in field_choices.items() if choice == REMOVE]
    for key in taken:
        replaced[key] = {"before": [str(v) for v in merge_values(keep, key)]}
    remove_provenances = {item["field"]: item for item in remove.field_provenances()}
    values = {name: getattr(remove, _column(name)) for key in taken for name in MERGE_FIELDS[key][1:]}
    before = {name: history.stored_value(keep, name) for name in (*values, "themes", "labels")}
    # The SIREN is unique: free it on the removed card before giving it to the kept one.
    if "siren" in taken and remove.siren:
        remove.siren = ""
        remove.save(update_fields=["siren", "updated_at"])
    for name, value in values.items():
        setattr(keep, _column(name), value)
    if taken:
        from essaim.actors.services import _search_name

        keep.search_name = _search_name(keep)
        keep.full_clean()
        keep.save(update_fields=[_column(n) for k in taken for n in MERGE_FIELDS[k][1:]] + ["search_name"])
        for key in taken:
            for name in MERGE_FIELDS[key][1:]:
                item = remove_provenances.get(name)
                if item is None:
                    FieldProvenance.objects.filter(structure=keep, field=name).delete()
                    continue
                FieldProvenance.objects.update_or_create(
                    structure=keep,
                    field=name,
                    defaults={
                        "source": item["source"],
                        "source_ref": (item["source_ref"] or f"fusion de la fiche {remove.pk}")[:200],
                        "recorded_at": item["recorded_at"],
                        "verified_by_human": item["verified_by_human"],
                    },
                )

    # The head office that stays is the one of the legal unit whose SIREN the card keeps.
    head_offices = Establishment.objects.filter(structure__in=[keep, remove], is_head_office=True)
    loser = keep if "siren" in taken else remove
    if len({e.structure_id for e in head_offices}) == 2:
        head_offices.filter(structure=loser).update(is_head_office=False)
    establishments = Establishment.objects.filter(structure=remove).update(structure=keep)

    memberships = 0
    existing = {m.user_id: m for m in Membership.objects.filter(structure=keep)}
    for membership in Membership.objects.filter(structure=remove):
        current = existing.get(membership.user_id)
        if current is None:
            membership.structure = keep
            membership.save(update_fields=["structure"])
            memberships += 1
        elif membership.role == MembershipRole.MANAGER and current.role != MembershipRole.MANAGER:
            current.role = MembershipRole.MANAGER
            current.save(update_fields=["role"])

    keep.themes.add(*remove.themes.all())
    keep.labels.add(*remove.labels.all())
    structures_reindex(ids=[keep.pk])
    moved = _move_generic_relations(keep, remove, handled={"establishments", "memberships", "provenances"})

    previous_status = remove.status
    remove.status = Status.ARCHIVED
    remove.merged_into = keep
    remove.save(update_fields=["status", "merged_into", "updated_at"])
    keep.save(update_fields=["updated_at"])
    # Both cards keep the merge in their history (the kept one's new values, the removed one's archiving).
    after = {name: history.stored_value(keep, name) for name in before}
    history.version_record(
        structure=keep,
        actor=actor,
        kind=VersionKind.MERGED,
        source_ref=f"fusion de la fiche {remove.pk}",
        changes={n: {"old": old, "new": after[n]} for n, old in before.items() if old != after[n]},
    )
    history.version_record(
        structure=remove,
        actor=actor,
        kind=VersionKind.MERGED,
        source_ref=f"fusionnée dans la fiche {keep.pk}",
        changes={"status": {"old": previous_status, "new": Status.ARCHIVED}},
    )
    structure_quality_refresh(keep)
    # The kept card may have taken the other's point, commune or family; the other leaves the map.
    map_sync(structure_ids=[keep.pk, remove.pk])

    data = {
        "kept": keep.pk,
        "removed": remove.pk,
        "removed_slug": remove.slug,
        "removed_status": previous_status,
        "choices": {key: field_choices.get(key, KEEP) for key in MERGE_FIELDS},
        "replaced": replaced,
        "moved": {"establishments": establishments, "memberships": memberships, **moved},
    }
    log_action(actor=actor, verb="actors.structure.merged", obj=keep, data=data)
    log_action(actor=actor, verb="actors.structure.merged_into", obj=remove, data=data)
    return keep
