"""Shared jobs ("emplois partagés"): time-share needs for the same job grouped into suggestions of a shared
post or a groupement d'employeurs.

A shared-job need carries a job title ("métier") and a share of a full-time post (ETP) in its
``SharedJobProfile``. ``shared_job_groups`` computes the suggestions on demand (nothing stored): needs of the
same job (same stemmed words of the job title), whose structures are all within each other's radius, from
at least two structures, totalling at least ``MIN_TOTAL_FTE``. Each group carries the French reasons why.
"""

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from essaim.actors.duplicates import haversine_m
from essaim.actors.search import STOPWORDS, stem
from essaim.core.audit import log_action
from essaim.core.text import normalize
from essaim.exchange.models import Direction, Kind, Listing, ListingStatus, SharedJobProfile

# A shared post is worth suggesting from half a full-time post on.
MIN_TOTAL_FTE = Decimal("0.5")
# Grid of the spatial index used while grouping (degrees; about 55 km of latitude).
CELL_DEGREES = 0.5
KM_PER_DEGREE = 111.0


def job_key(job_title: str) -> str:
    """The job title as comparable words: folded, without stop words, stemmed, sorted, de-duplicated.

    "Comptable", "comptables" and "COMPTABLE" give the same key; so do "chargé de communication" and
    "chargée de communication" (a final "e" is dropped after stemming: feminine forms).
    """
    words = {stem(word) for word in normalize(job_title).split() if word not in STOPWORDS}
    words = {word[:-1] if len(word) > 3 and word.endswith("e") else word for word in words}
    return " ".join(sorted(word for word in words if word))


@transaction.atomic
def shared_job_set(*, listing: Listing, actor, job_title: str, fte: Decimal) -> SharedJobProfile:
    """Set the job and the share of a full-time post of a shared-job need. Raises ValidationError (French
    messages) for another kind of listing, an empty job title or a share outside ]0, 1]."""
    if listing.kind != Kind.SHARED_JOB or listing.direction != Direction.NEED:
        raise ValidationError("Seul un besoin de type « emploi partagé » a un métier et un temps de travail.")
    job_title = job_title.strip()
    key = job_key(job_title)
    if not key:
        raise ValidationError({"job_title": "Indiquez le métier (par exemple : comptable)."})
    # Lock the listing first: two first settings at once wait for each other instead of one failing on the
    # one-to-one constraint, and a listing closed meanwhile is seen closed.
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status not in (ListingStatus.DRAFT, ListingStatus.PUBLISHED):
        raise ValidationError(
            "Cette annonce est close : son métier et son temps de travail ne changent plus."
        )
    profile = SharedJobProfile.objects.select_for_update().filter(listing=listing).first()
    created = profile is None
    if created:
        profile = SharedJobProfile(listing=listing)
    old = None if created else {"job_title": profile.job_title, "fte": str(profile.fte)}
    profile.job_title, profile.job_key, profile.fte = job_title, key, fte
    profile.full_clean(exclude=["listing", "job_key"])
    profile.save()
    log_action(
        actor=actor,
        verb="exchange.shared_job.set",
        obj=listing,
        data={"old": old, "new": {"job_title": job_title, "fte": str(fte)}},
    )
    return profile


@dataclass
class SharedJobGroup:
    """A suggested shared post: the needs (one per structure), their total and the reasons."""

    job_title: str
    profiles: list[SharedJobProfile]
    max_distance_km: float = 0.0
    reasons: list[str] = field(default_factory=list)

    @property
    def total_fte(self) -> Decimal:
        return sum((profile.fte for profile in self.profiles), Decimal(0))

    @property
    def listing_ids(self) -> set[int]:
        return {profile.listing_id for profile in self.profiles}

    @property
    def structures(self):
        return [profile.listing.structure for profile in self.profiles]


def _fte_label(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",") + " ETP"


@dataclass(frozen=True, slots=True)
class _Place:
    """What the grouping compares, read once per need (model attribute access is slow in a loop)."""

    point: tuple[float, float] | None
    radius_km: int
    structure_id: int
    commune_id: int | None


def _place(profile: SharedJobProfile) -> _Place:
    structure = profile.listing.structure
    return _Place(structure.point, profile.listing.radius_km, structure.pk, structure.commune_id)


def _distance_km(a: _Place, b: _Place) -> float | None:
    """Distance between the two structures; 0 in the same commune when a point is missing (the demo and
    many installations have no commune points); None when it cannot be known."""
    if a.point is not None and b.point is not None:
        return haversine_m(a.point, b.point) / 1000
    if a.commune_id is not None and a.commune_id == b.commune_id:
        return 0.0
    return None


def _fits(place: _Place, members: list[_Place]) -> tuple[bool, float]:
    """Whether ``place`` lies within the radius of every member and every member within its radius;
    returns the largest distance to a member."""
    farthest = 0.0
    for member in members:
        limit = min(place.radius_km, member.radius_km)
        if (
            place.point is not None
            and member.point is not None
            and abs(place.point[0] - member.point[0]) * KM_PER_DEGREE > limit + 1
        ):
            return False, 0.0  # Too far north or south already: no need for the great-circle distance.
        distance = _distance_km(place, member)
        if distance is None or distance > limit:
            return False, 0.0
        farthest = max(farthest, distance)
    return True, farthest


def _candidates(now: datetime.datetime | None, job_key: str | None):
    profiles = SharedJobProfile.objects.filter(
        listing__in=Listing.objects.listed(now).filter(kind=Kind.SHARED_JOB, direction=Direction.NEED)
    )
    if job_key is not None:
        profiles = profiles.filter(job_key=job_key)
    return profiles.select_related("listing__structure__commune").order_by("job_key", "-fte", "listing_id")


def _cell(point: tuple[float, float]) -> tuple[int, int]:
    return (math.floor(point[0] / CELL_DEGREES), math.floor(point[1] / CELL_DEGREES))


def _near_cells(point: tuple[float, float], radius_km: float) -> list[tuple[int, int]]:
    """The grid cells that may hold a point within ``radius_km`` of ``point``."""
    lat_span = math.ceil(radius_km / (KM_PER_DEGREE * CELL_DEGREES)) + 1
    cos_lat = max(math.cos(math.radians(min(abs(point[0]) + lat_span * CELL_DEGREES, 89.0))), 0.01)
    lon_span = min(
        math.ceil(radius_km / (KM_PER_DEGREE * cos_lat * CELL_DEGREES)) + 1, int(360 / CELL_DEGREES)
    )
    row, column = _cell(point)
    return [
        (row + dr, column + dc)
        for dr in range(-lat_span, lat_span + 1)
        for dc in range(-lon_span, lon_span + 1)
    ]


def group_profiles(profiles: list[SharedJobProfile]) -> list[SharedJobGroup]:
    """Group needs of one job, in the given order: each joins the first group (oldest first) all of whose
    structures are within both radii, else starts one. Groups of one structure or below ``MIN_TOTAL_FTE``
    are dropped.

    A group can only be joined near its first member (within the smaller radius, so within the newcomer's):
    groups are indexed by the grid cell of their first member's point and by its commune, and a need looks
    only at the groups in reach instead of all of them.
    """
    open_groups: list[SharedJobGroup] = []
    members: list[list[_Place]] = []
    structures: list[set[int]] = []
    by_cell: dict[tuple[int, int], list[int]] = {}
    by_commune: dict[int, list[int]] = {}
    for profile in profiles:
        place = _place(profile)
        if place.point is None and place.commune_id is None:
            continue  # Cannot be placed: never grouped.
        reach: set[int] = set(by_commune.get(place.commune_id, ())) if place.commune_id is not None else set()
        if place.point is not None:
            cells = _near_cells(place.point, place.radius_km)
            if len(cells) < len(open_groups):
                for cell in cells:
                    reach.update(by_cell.get(cell, ()))
            else:
                reach.update(range(len(open_groups)))
        for index in sorted(reach):
            if place.structure_id in structures[index]:
                continue
            fits, farthest = _fits(place, members[index])
            if fits:
                group = open_groups[index]
                group.profiles.append(profile)
                group.max_distance_km = max(group.max_distance_km, farthest)
                members[index].append(place)
                structures[index].add(place.structure_id)
                break
        else:
            index = len(open_groups)
            open_groups.append(SharedJobGroup(job_title=profile.job_title, profiles=[profile]))
            members.append([place])
            structures.append({place.structure_id})
            if place.point is not None:
                by_cell.setdefault(_cell(place.point), []).append(index)
            if place.commune_id is not None:
                by_commune.setdefault(place.commune_id, []).append(index)
    return [g for g in open_groups if len(g.profiles) >= 2 and g.total_fte >= MIN_TOTAL_FTE]


def shared_job_groups(
    *, now: datetime.datetime | None = None, job_key: str | None = None
) -> list[SharedJobGroup]:
    """Every suggested shared post among the listed shared-job needs (of one job when ``job_key`` is
    given), largest total first, each with its French reasons.

    Needs are bucketed by job key and grouped by ``group_profiles``, largest shares first. A structure counts
    once per group. Without points, structures of the same commune are at distance 0; a structure with
    neither point nor commune is left out.
    """
    buckets: dict[str, list[SharedJobProfile]] = {}
    for profile in _candidates(now, job_key):
        buckets.setdefault(profile.job_key, []).append(profile)
    groups: list[SharedJobGroup] = []
    for profiles in buckets.values():
        groups += group_profiles(profiles)

    for group in groups:
        group.profiles.sort(key=lambda p: (p.listing.structure.name, p.listing_id))
        titles = sorted({p.job_title.strip().lower() for p in group.profiles})
        communes = {p.listing.structure.commune for p in group.profiles}
        if len(communes) == 1 and None not in communes:
            where = f"structures de la même commune : {communes.pop().name}"
        elif group.max_distance_km < 1:
            where = "structures à moins de 1 km les unes des autres"
        else:
            where = (
                f"structures à {round(group.max_distance_km)} km au plus les unes des autres, "
                "dans le rayon de chaque annonce"
            )
        group.reasons = [
            f"même métier : {' / '.join(titles)}",
            where,
            f"{len(group.profiles)} structures pour {_fte_label(group.total_fte)} au total "
            f"(au moins {_fte_label(MIN_TOTAL_FTE)} pour un poste partagé)",
        ]
    groups.sort(key=lambda g: (-g.total_fte, g.job_title.lower(), min(g.listing_ids)))
    return groups


def shared_job_groups_for(*, listing: Listing, now: datetime.datetime | None = None) -> list[SharedJobGroup]:
    """The suggested shared posts that include ``listing`` (none for another kind of listing)."""
    if listing.kind != Kind.SHARED_JOB or listing.direction != Direction.NEED:
        return []
    profile = SharedJobProfile.objects.filter(listing=listing).first()
    if profile is None:
        return []
    groups = shared_job_groups(now=now, job_key=profile.job_key)
    return [group for group in groups if listing.pk in group.listing_ids]
