"""Server-side clustering of published structures for the map, fast at national scale.

The world is cut into square grid cells of ``90 / 2**level`` degrees (level = zoom level: cells about 64 px
wide). Each structure on the map carries a *snapshot* (``Structure.map_*``): its point (its own, else its
commune's), its family and commune, and ``map_cell``, the Z-order (Morton) index of its cell at the finest
level. In Z-order every coarser cell is one contiguous range of ``map_cell``, so one B-tree index answers "the
structures of these cells" on SQLite and PostgreSQL alike.

``MapCell`` holds, for levels 0 to ``AGGREGATE_LEVELS``, per cell and family: count, sums of coordinates
(centroid), extent, sum of ids (with a count of 1 it *is* the structure's id) and sums of commune ids and
their squares (all in one commune exactly when the variance is zero). A map request reads at most
``MAX_FEATURES`` cells x families from it instead of grouping a million rows. The services keep snapshots
and aggregates in step with ``map_sync`` in the same transaction as the change; ``map_reindex`` rebuilds
everything (``essaim map_reindex``).

Answers for a viewport:
- few structures (or zoomed in): every structure in the exact bbox is a point;
- else clusters: the grid cells that intersect the bbox, each with its own count. The area covered is then
  the bbox widened to whole cells (returned as ``Clusters.covered``), so counts add up to the number of
  structures in that area;
- above ``AGGREGATE_LEVELS`` (street level) cells are grouped live from the index when the viewport holds
  at most ``LIVE_MAX`` structures, else the finest aggregates are used;
- the text and perimeter filters cannot use the per-cell aggregates: they are grouped live, reading at most
  ``LIVE_SCAN_MAX`` structures (see ``_filtered_clusters``; per-commune aggregates serve a perimeter seen
  from afar), else the answer is empty with a French message asking to zoom in.
"""

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Max, Min, Q, Sum

from essaim.actors.models import MapCell, Status, Structure
from essaim.territories.models import Commune

# Hard cap on the features of one answer, whatever the viewport.
MAX_FEATURES = 400
# From this zoom level on, structures are shown one by one (when there are at most MAX_FEATURES).
POINTS_ZOOM = 14
# Below POINTS_ZOOM, a viewport with at most this many structures still shows them one by one.
FEW_POINTS = 50
MAX_ZOOM = 20
# Finest grid: cells of 90 / 2**20 degrees (about 10 m). ``map_cell`` is the Z-order index at this level.
FINE_LEVEL = MAX_ZOOM
# Levels with precomputed cells (street level beyond: grouped live, see LIVE_MAX).
AGGREGATE_LEVELS = 16
# Live grouping above AGGREGATE_LEVELS, for at most this many structures in the viewport.
LIVE_MAX = 5000
# Text and perimeter filters: at most this many structures are read live (see ``_filtered_clusters``).
LIVE_SCAN_MAX = 5_000
# MapCell level of the per-commune aggregates (``code`` = commune id), used by the perimeter filter.
COMMUNE_LEVEL = 99
TOO_WIDE = (
    "Trop de structures dans cette partie de la carte pour ce filtre : zoomez, précisez la recherche "
    "ou consultez l'annuaire."
)


@dataclass(frozen=True)
class BBox:
    """A viewport in degrees: west, south, east, north (west < east, south < north)."""

    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class Cluster:
    count: int
    latitude: float
    longitude: float
    # Extent of the structures of the cluster (west, south, east, north): zooming on it splits it.
    extent: tuple[float, float, float, float]
    # The commune when all the structures of the cluster are in the same one, else "".
    commune_name: str


@dataclass(frozen=True)
class Point:
    id: int
    name: str
    slug: str
    latitude: float
    longitude: float
    commune_name: str


@dataclass
class Clusters:
    """The answer for a viewport: ``features`` (at most MAX_FEATURES), the area their counts cover, and a
    French ``message`` when the answer is empty because the viewport is too wide for the filters."""

    features: list[Cluster | Point] = field(default_factory=list)
    covered: BBox | None = None
    message: str = ""

    @property
    def total(self) -> int:
        return sum(feature.count if isinstance(feature, Cluster) else 1 for feature in self.features)


# -- grid --------------------------------------------------------------------------------------------------


def cell_degrees(level: int) -> float:
    return 90.0 / 2**level


def _fine_x(longitude: float) -> int:
    return min(max(math.floor((longitude + 180.0) * 2**FINE_LEVEL / 90.0), 0), 4 * 2**FINE_LEVEL - 1)


def _fine_y(latitude: float) -> int:
    return min(max(math.floor((latitude + 90.0) * 2**FINE_LEVEL / 90.0), 0), 2 * 2**FINE_LEVEL - 1)


def _spread(value: int) -> int:
    """The bits of ``value`` (up to 32) moved to the even positions."""
    value &= 0xFFFFFFFF
    value = (value | (value << 16)) & 0x0000FFFF0000FFFF
    value = (value | (value << 8)) & 0x00FF00FF00FF00FF
    value = (value | (value << 4)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value << 2)) & 0x3333333333333333
    return (value | (value << 1)) & 0x5555555555555555


def morton(x: int, y: int) -> int:
    """Z-order index of grid cell (x, y): x bits at even positions, y bits at odd ones."""
    return _spread(x) | (_spread(y) << 1)


def fine_cell(latitude: float, longitude: float) -> int:
    """``map_cell`` of a point: its Z-order cell at FINE_LEVEL."""
    return morton(_fine_x(longitude), _fine_y(latitude))


def _cell_range(bbox: BBox, level: int) -> tuple[int, int, int, int]:
    shift = FINE_LEVEL - level
    return (
        _fine_x(bbox.west) >> shift,
        _fine_y(bbox.south) >> shift,
        _fine_x(bbox.east) >> shift,
        _fine_y(bbox.north) >> shift,
    )


def cells_spanned(bbox: BBox, level: int) -> int:
    x0, y0, x1, y1 = _cell_range(bbox, level)
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def grid_level(*, bbox: BBox, zoom: int) -> int:
    """Grid level for ``zoom`` (cells of about 64 px), made coarser until the bbox spans at most
    MAX_FEATURES cells."""
    level = zoom
    while level > 0 and cells_spanned(bbox, level) > MAX_FEATURES:
        level -= 1
    return level


def covered_bbox(bbox: BBox, level: int) -> BBox:
    """The area of the whole cells of ``level`` that ``bbox`` touches (clamped to the world)."""
    x0, y0, x1, y1 = _cell_range(bbox, level)
    size = cell_degrees(level)
    return BBox(
        max(-180.0, x0 * size - 180.0),
        max(-90.0, y0 * size - 90.0),
        min(180.0, (x1 + 1) * size - 180.0),
        min(90.0, (y1 + 1) * size - 90.0),
    )


def _viewport_codes(bbox: BBox, level: int) -> list[int]:
    x0, y0, x1, y1 = _cell_range(bbox, level)
    return sorted(morton(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))


def _fine_ranges(codes: Iterable[int], level: int) -> list[tuple[int, int]]:
    """``map_cell`` ranges (inclusive) of the cells ``codes`` of ``level``, adjacent ones merged."""
    shift = 2 * (FINE_LEVEL - level)
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return [(low << shift, ((high + 1) << shift) - 1) for low, high in ranges]


def _in_ranges(ranges: list[tuple[int, int]]) -> Q:
    condition = Q()
    for low, high in ranges:
        condition |= Q(map_cell__gte=low, map_cell__lte=high)
    return condition


# -- snapshots and aggregates --------------------------------------------------------------------------------

# Fields of a structure that its map snapshot depends on (besides its status).
MAP_FIELDS = frozenset({"family", "commune", "latitude", "longitude"})
_SNAPSHOT = ("map_lat", "map_lon", "map_cell", "map_family", "map_commune_id")
_EMPTY = (None, None, None, None, None)


def _wanted_snapshot(status, latitude, longitude, commune_id, commune_lat, commune_lon, family) -> tuple:
    if status != Status.PUBLISHED:
        return _EMPTY
    if latitude is None or longitude is None:
        if commune_lat is None or commune_lon is None:
            return _EMPTY
        latitude, longitude = commune_lat, commune_lon
    return (latitude, longitude, fine_cell(latitude, longitude), family, commune_id)


def _vendor_min_max() -> tuple[str, str]:
    # SQLite's two-argument min()/max() are scalar functions; PostgreSQL spells them LEAST/GREATEST.
    return ("min", "max") if connection.vendor == "sqlite" else ("LEAST", "GREATEST")


def _apply_deltas(added: Mapping[tuple, list], removed: Mapping[tuple, list]) -> None:
    """Subtract ``removed`` and add ``added`` (key (level, code, family) -> [count, sum_lat, sum_lon, west,
    south, east, north, sum_id, commune_count, sum_commune, sum_commune_sq]) to the MapCell rows."""
    table = connection.ops.quote_name(MapCell._meta.db_table)
    least, greatest = _vendor_min_max()
    with connection.cursor() as cursor:
        if removed:
            cursor.executemany(
                f"UPDATE {table} SET count = count - %s, sum_lat = sum_lat - %s, sum_lon = sum_lon - %s, "  # noqa: S608
                "sum_id = sum_id - %s, commune_count = commune_count - %s, sum_commune = sum_commune - %s, "
                "sum_commune_sq = sum_commune_sq - %s WHERE level = %s AND code = %s AND family = %s",
                [(v[0], v[1], v[2], v[7], v[8], v[9], v[10], *key) for key, v in removed.items()],
            )
        if added:
            cursor.executemany(
                f"INSERT INTO {table} (level, code, family, count, sum_lat, sum_lon, west, south, east, "  # noqa: S608
                "north, sum_id, commune_count, sum_commune, sum_commune_sq) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (level, code, family) DO UPDATE SET "
                f"count = {table}.count + excluded.count, "
                f"sum_lat = {table}.sum_lat + excluded.sum_lat, "
                f"sum_lon = {table}.sum_lon + excluded.sum_lon, "
                f"west = {least}({table}.west, excluded.west), "
                f"south = {least}({table}.south, excluded.south), "
                f"east = {greatest}({table}.east, excluded.east), "
                f"north = {greatest}({table}.north, excluded.north), "
                f"sum_id = {table}.sum_id + excluded.sum_id, "
                f"commune_count = {table}.commune_count + excluded.commune_count, "
                f"sum_commune = {table}.sum_commune + excluded.sum_commune, "
                f"sum_commune_sq = {table}.sum_commune_sq + excluded.sum_commune_sq",
                [(*key, *v) for key, v in added.items()],
            )
        if removed:
            cursor.executemany(
                f"DELETE FROM {table} WHERE level = %s AND code = %s AND family = %s AND count <= 0",  # noqa: S608
                list(removed),
            )


def _accumulate(deltas: dict, structure_id: int, snapshot: tuple) -> None:
    latitude, longitude, cell, family, commune_id = snapshot
    has_commune = commune_id is not None
    commune = commune_id or 0
    keys = [(level, cell >> (2 * (FINE_LEVEL - level)), family) for level in range(AGGREGATE_LEVELS + 1)]
    if has_commune:
        keys.append((COMMUNE_LEVEL, commune_id, family))
    for key in keys:
        row = deltas.get(key)
        if row is None:
            deltas[key] = [
                1,
                latitude,
                longitude,
                longitude,
                latitude,
                longitude,
                latitude,
                structure_id,
                int(has_commune),
                commune,
                commune * commune,
            ]
        else:
            row[0] += 1
            row[1] += latitude
            row[2] += longitude
            row[3] = min(row[3], longitude)
            row[4] = min(row[4], latitude)
            row[5] = max(row[5], longitude)
            row[6] = max(row[6], latitude)
            row[7] += structure_id
            row[8] += int(has_commune)
            row[9] += commune
            row[10] += commune * commune


_SYNC_CHUNK = 500

# Apps that copy a structure's point or status (offers and needs) follow it from here without actors
# knowing them: each listener gets the ids given to ``map_sync``, the structures whose point, commune or
# status may have changed (every one: a card without any point changes status without moving on the map).
_synced_listeners: list[Callable[[list[int]], None]] = []


def on_structures_synced(listener: Callable[[list[int]], None]) -> None:
    """Call ``listener(structure_ids)`` inside ``map_sync``'s transaction, with the ids it was given."""
    if listener not in _synced_listeners:
        _synced_listeners.append(listener)


@transaction.atomic
def map_sync(*, structure_ids: Iterable[int]) -> int:
    """Bring the map snapshot and aggregates of these structures in line with their current state (status,
    point, commune's point, family, commune); return how many changed. Call it in the transaction of any
    write that may change those, after the write. Unknown ids are ignored."""
    ids = sorted(set(structure_ids))
    changed = 0
    for start in range(0, len(ids), _SYNC_CHUNK):
        chunk = ids[start : start + _SYNC_CHUNK]
        rows = (
            Structure.objects.select_for_update(of=("self",))
            .filter(pk__in=chunk)
            # Drafts that were never on the map (the bulk of an import) need nothing.
            .filter(Q(status=Status.PUBLISHED) | Q(map_cell__isnull=False))
            .values_list(
                "pk",
                "status",
                "latitude",
                "longitude",
                "commune_id",
                "commune__latitude",
                "commune__longitude",
                "family",
                *_SNAPSHOT,
            )
        )
        added: dict[tuple, list] = {}
        removed: dict[tuple, list] = {}
        updates = []
        for pk, *current in rows:
            wanted = _wanted_snapshot(*current[:7])
            stored = tuple(current[7:])
            if wanted == stored:
                continue
            if stored[2] is not None:
                _accumulate(removed, pk, stored)
            if wanted[2] is not None:
                _accumulate(added, pk, wanted)
            updates.append((*wanted, pk))
        if updates:
            _apply_deltas(added, removed)
            table = connection.ops.quote_name(Structure._meta.db_table)
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET map_lat = %s, map_lon = %s, map_cell = %s, map_family = %s, "  # noqa: S608
                    "map_commune_id = %s WHERE id = %s",
                    updates,
                )
            changed += len(updates)
        for listener in _synced_listeners:
            listener(chunk)
    return changed


_REINDEX_BATCH = 20_000


def map_reindex(*, progress=None) -> dict:
    """See ``_map_reindex``. On SQLite, with a page cache of up to 1 GB for the time of the run: the default
    2 MB thrashes on the indexes of millions of cells (as in the SIRENE import)."""
    if connection.vendor != "sqlite":
        return _map_reindex(progress=progress)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -1048576")
    try:
        return _map_reindex(progress=progress)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


@transaction.atomic
def _map_reindex(*, progress=None) -> dict:
    """Recompute every structure's map snapshot, then rebuild all MapCell rows from the snapshots.

    Needed after writes that bypass the services (raw SQL, a territories update moving commune points).
    ``progress(done)`` is called after each batch of structures. Returns {"structures": snapshots changed,
    "cells": MapCell rows}.
    """
    table = connection.ops.quote_name(Structure._meta.db_table)
    changed = 0
    done = 0
    last = 0
    while True:
        rows = list(
            Structure.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list(
                "pk",
                "status",
                "latitude",
                "longitude",
                "commune_id",
                "commune__latitude",
                "commune__longitude",
                "family",
                *_SNAPSHOT,
            )[:_REINDEX_BATCH]
        )
        if not rows:
            break
        last = rows[-1][0]
        updates = []
        for pk, *current in rows:
            wanted = _wanted_snapshot(*current[:7])
            if wanted != tuple(current[7:]):
                updates.append((*wanted, pk))
        if updates:
            _write_snapshots(table, updates)
        changed += len(updates)
        done += len(rows)
        if progress is not None:
            progress(done)
    cells = map_rebuild_cells()
    return {"structures": changed, "cells": cells}


def _write_snapshots(table: str, updates: list[tuple]) -> None:
    """Write (map_lat, map_lon, map_cell, map_family, map_commune_id, id) rows."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(
                f"UPDATE {table} SET map_lat = %s, map_lon = %s, map_cell = %s, map_family = %s, "  # noqa: S608
                "map_commune_id = %s WHERE id = %s",
                updates,
            )
            return
        # PostgreSQL runs an executemany as one statement per row: COPY into a temporary table, then one
        # UPDATE ... FROM, is tens of times faster for a million rows.
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS essaim_map_snapshot (map_lat float8, map_lon float8, "
            "map_cell bigint, map_family varchar(20), map_commune_id bigint, id bigint) ON COMMIT DROP"
        )
        cursor.execute("TRUNCATE essaim_map_snapshot")
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy("COPY essaim_map_snapshot FROM STDIN") as copy,
        ):
            for row in updates:
                copy.write_row(row)
        cursor.execute(
            f"UPDATE {table} AS s SET map_lat = t.map_lat, map_lon = t.map_lon, map_cell = t.map_cell, "  # noqa: S608
            "map_family = t.map_family, map_commune_id = t.map_commune_id "
            "FROM essaim_map_snapshot AS t WHERE s.id = t.id"
        )


def map_rebuild_cells() -> int:
    """Rebuild every MapCell row from the structures' snapshots (finest level from the structures, each
    coarser level from the one below); return the number of rows."""
    cells = connection.ops.quote_name(MapCell._meta.db_table)
    structures = connection.ops.quote_name(Structure._meta.db_table)
    columns = (
        "level, code, family, count, sum_lat, sum_lon, west, south, east, north, sum_id, commune_count, "
        "sum_commune, sum_commune_sq"
    )
    divisor = 4 ** (FINE_LEVEL - AGGREGATE_LEVELS)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {cells}")  # noqa: S608
        # Integer division of non-negative integers: the same cell on both databases.
        cursor.execute(
            f"INSERT INTO {cells} ({columns}) "  # noqa: S608
            f"SELECT {AGGREGATE_LEVELS}, map_cell / {divisor}, map_family, COUNT(*), SUM(map_lat), "
            "SUM(map_lon), MIN(map_lon), MIN(map_lat), MAX(map_lon), MAX(map_lat), SUM(id), "
            "COUNT(map_commune_id), COALESCE(SUM(map_commune_id), 0), "
            "COALESCE(SUM(map_commune_id * map_commune_id), 0) "
            f"FROM {structures} WHERE map_cell IS NOT NULL GROUP BY map_cell / {divisor}, map_family"
        )
        for level in range(AGGREGATE_LEVELS - 1, -1, -1):
            cursor.execute(
                f"INSERT INTO {cells} ({columns}) "  # noqa: S608
                f"SELECT {level}, code / 4, family, SUM(count), SUM(sum_lat), SUM(sum_lon), MIN(west), "
                "MIN(south), MAX(east), MAX(north), SUM(sum_id), SUM(commune_count), SUM(sum_commune), "
                f"SUM(sum_commune_sq) FROM {cells} WHERE level = {level + 1} GROUP BY code / 4, family"
            )
        cursor.execute(
            f"INSERT INTO {cells} ({columns}) "  # noqa: S608
            f"SELECT {COMMUNE_LEVEL}, map_commune_id, map_family, COUNT(*), SUM(map_lat), SUM(map_lon), "
            "MIN(map_lon), MIN(map_lat), MAX(map_lon), MAX(map_lat), SUM(id), COUNT(*), "
            "SUM(map_commune_id), SUM(map_commune_id * map_commune_id) "
            f"FROM {structures} WHERE map_cell IS NOT NULL AND map_commune_id IS NOT NULL "
            "GROUP BY map_commune_id, map_family"
        )
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {cells}")
            cursor.execute(f"ANALYZE {structures}")
    return MapCell.objects.count()


# -- reading -------------------------------------------------------------------------------------------------


def _families(filters: Mapping) -> list[str]:
    value = filters.get("family") or []
    return [value] if isinstance(value, str) else sorted(set(value))


def mappable_structures(filters: Mapping | None = None):
    """Structures on the map (published, with a point of their own or their commune's), their snapshot in
    ``map_lat`` / ``map_lon``, filtered by ``filters``: ``family`` (a Family value or a list of them),
    ``perimeter`` (a Perimeter or its pk) and ``text`` (words of the name or acronym); missing or empty keys
    do not filter."""
    filters = filters or {}
    # On map_lat, which has no index: the planner picks the index of the other conditions (the map_cell
    # ranges of a viewport, the name order of a list).
    qs = Structure.objects.filter(map_lat__isnull=False)
    if filters.get("perimeter"):
        qs = qs.in_perimeter(filters["perimeter"])
    if families := _families(filters):
        qs = qs.filter(map_family__in=families)
    if filters.get("text"):
        qs = qs.search(filters["text"])
    return qs


def _check(bbox: BBox, zoom: int) -> None:
    if not (
        -180 <= bbox.west < bbox.east <= 180
        and -90 <= bbox.south < bbox.north <= 90
        and 0 <= zoom <= MAX_ZOOM
    ):
        raise ValueError("Emprise ou niveau de zoom hors limites.")


def _aggregated_cells(level: int, codes: list[int], families: list[str]) -> list[dict]:
    """Figures per cell ``codes`` of ``level`` from MapCell, families added up (only ``families`` if any)."""
    # Raw SQL: with up to MAX_FEATURES codes, building this query through the ORM cost more than running it.
    table = connection.ops.quote_name(MapCell._meta.db_table)
    sql = (
        "SELECT code, SUM(count), SUM(sum_lat), SUM(sum_lon), MIN(west), MIN(south), MAX(east), MAX(north), "  # noqa: S608
        "SUM(sum_id), SUM(commune_count), SUM(sum_commune), SUM(sum_commune_sq) "
        f"FROM {table} WHERE level = %s AND code IN ({', '.join(['%s'] * len(codes))})"
    )
    params = [level, *codes]
    if families:
        sql += f" AND family IN ({', '.join(['%s'] * len(families))})"
        params += families
    with connection.cursor() as cursor:
        cursor.execute(sql + " GROUP BY code", params)
        return [dict(zip(("code", *_CELL_KEYS), row, strict=True)) for row in cursor.fetchall()]


def _live_cells(qs, level: int) -> list[dict]:
    """The same figures as ``_aggregated_cells``, grouped live from the structures of ``qs``."""
    divisor = 4 ** (FINE_LEVEL - level)
    return list(
        qs.annotate(code=ExpressionWrapper(F("map_cell") / divisor, output_field=BigIntegerField()))
        .values("code")
        .annotate(
            n=Count("pk"),
            lat=Sum("map_lat"),
            lon=Sum("map_lon"),
            west_=Min("map_lon"),
            south_=Min("map_lat"),
            east_=Max("map_lon"),
            north_=Max("map_lat"),
            ids=Sum("pk"),
            with_commune=Count("map_commune_id"),
            communes=Sum("map_commune_id"),
            communes_sq=Sum(F("map_commune_id") * F("map_commune_id")),
        )
        .order_by()
    )


def _points(qs, bbox: BBox, limit: int | None = None) -> list[Point]:
    """The structures of ``qs`` inside ``bbox`` as points (at most ``limit`` + 1 of them when given)."""
    rows = (
        qs.filter(
            map_lat__gte=bbox.south, map_lat__lte=bbox.north, map_lon__gte=bbox.west, map_lon__lte=bbox.east
        )
        .order_by()
        .values("pk", "name", "slug", "map_lat", "map_lon", "commune__name")
    )
    if limit is not None:
        rows = rows[: limit + 1]
    return sorted((_point(row) for row in rows), key=lambda point: (point.name, point.id))


def _features(cells: list[dict]) -> list[Cluster | Point]:
    """Clusters (and points for cells of one structure) from grouped cell figures."""
    cells = [cell for cell in cells if cell["n"]]
    single_ids = [int(cell["ids"]) for cell in cells if cell["n"] == 1]
    points = {
        row["pk"]: _point(row)
        for row in Structure.objects.filter(pk__in=single_ids).values(
            "pk", "name", "slug", "map_lat", "map_lon", "commune__name"
        )
    }
    one_commune = {}
    for cell in cells:
        count, with_commune = int(cell["n"]), int(cell["with_commune"] or 0)
        communes, squares = int(cell["communes"] or 0), int(cell["communes_sq"] or 0)
        # Every structure has a commune and their ids have no variance: one commune.
        if count > 1 and with_commune == count and count * squares == communes * communes:
            one_commune[cell["code"]] = communes // count
    names = dict(Commune.objects.filter(pk__in=set(one_commune.values())).values_list("pk", "name"))
    features: list[Cluster | Point] = []
    for cell in cells:
        count = int(cell["n"])
        if count == 1:
            point = points.get(int(cell["ids"]))
            if point is not None:  # A card deleted behind the services' back is left out.
                features.append(point)
            continue
        features.append(
            Cluster(
                count=count,
                latitude=cell["lat"] / count,
                longitude=cell["lon"] / count,
                extent=(cell["west_"], cell["south_"], cell["east_"], cell["north_"]),
                commune_name=names.get(one_commune.get(cell["code"]), ""),
            )
        )
    # Biggest clusters first: the list view reads in that order.
    features.sort(key=lambda f: (-f.count, "", f.latitude) if isinstance(f, Cluster) else (-1, f.name, f.id))
    return features


def structure_clusters(*, bbox: BBox, zoom: int, filters: Mapping | None = None) -> Clusters:
    """Clusters and points of the structures on the map inside ``bbox`` at ``zoom``, at most MAX_FEATURES.

    Points: exactly those in ``bbox``. Clusters: the grid cells touching ``bbox``; their counts add up to
    the number of matching structures in ``Clusters.covered`` (the bbox widened to whole cells).
    Raises ValueError for a bbox or zoom out of range (callers validate user input first).
    """
    _check(bbox, zoom)
    filters = filters or {}
    families = _families(filters)
    live_only = bool(filters.get("text") or filters.get("perimeter"))
    level = grid_level(bbox=bbox, zoom=zoom)
    aggregate_level = min(level, AGGREGATE_LEVELS)
    codes = _viewport_codes(bbox, aggregate_level)
    cells = _aggregated_cells(aggregate_level, codes, [] if live_only else families)
    in_cells = sum(int(cell["n"]) for cell in cells)
    limit = MAX_FEATURES if zoom >= POINTS_ZOOM else FEW_POINTS
    qs = mappable_structures(filters)
    nonempty = [cell["code"] for cell in cells if cell["n"]]
    if not nonempty:
        return Clusters(features=[], covered=bbox)

    if live_only:
        return _filtered_clusters(filters, bbox, level, aggregate_level, nonempty, in_cells, limit)
    if in_cells <= limit:
        # Few structures: read them from the index of their cells, keep those in the exact bbox.
        qs = qs.filter(_in_ranges(_fine_ranges(nonempty, aggregate_level)))
        return Clusters(features=_points(qs, bbox), covered=bbox)
    if level > aggregate_level and in_cells <= LIVE_MAX:
        # Street level: finer cells than the aggregates, grouped live from the viewport's own cells.
        codes = _viewport_codes(bbox, level)
        qs = qs.filter(_in_ranges(_fine_ranges(codes, level)))
        return Clusters(features=_features(_live_cells(qs, level)), covered=covered_bbox(bbox, level))
    return Clusters(features=_features(cells), covered=covered_bbox(bbox, aggregate_level))


def _filtered_clusters(filters, bbox, level, aggregate_level, nonempty, in_cells, limit) -> Clusters:
    """Text and perimeter filters: no per-cell aggregate knows them, so the matching structures are
    grouped live, reading at most LIVE_SCAN_MAX structures:
    - through the index of the viewport's cells while they hold at most LIVE_SCAN_MAX structures (exact);
    - else, perimeter without text: from the per-commune aggregates of the perimeter's communes, each
      commune's structures counted in the cell of their centroid (exact totals, positions to the commune);
    - else, through the perimeter's communes when it holds at most LIVE_SCAN_MAX structures;
    - else nothing, with a French message asking to zoom in (``Clusters.message``).
    """
    perimeter = filters.get("perimeter")
    families = _families(filters)
    # The perimeter as a list of communes rather than a join, so that the planner reads whichever index
    # was chosen here: the map_cell ranges of the viewport, or the communes of the perimeter.
    qs = mappable_structures({**filters, "perimeter": None}).order_by()
    if in_cells <= LIVE_SCAN_MAX:
        qs = qs.filter(_in_ranges(_fine_ranges(nonempty, aggregate_level)))
        if perimeter:
            qs = qs.filter(map_commune_id__in=_perimeter_commune_ids(perimeter))
    elif perimeter and not filters.get("text"):
        return _perimeter_clusters(perimeter, families, bbox, level)
    elif not perimeter or _perimeter_count(perimeter, families) > LIVE_SCAN_MAX:
        return Clusters(features=[], covered=bbox, message=TOO_WIDE)
    else:
        qs = qs.filter(commune_id__in=_perimeter_commune_ids(perimeter))
    rows = _points(qs, bbox, limit) if in_cells <= 20 * limit else None
    if rows is not None and len(rows) <= limit:
        return Clusters(features=rows, covered=bbox)
    covered = covered_bbox(bbox, level)
    qs = qs.filter(
        map_lat__gte=covered.south,
        map_lat__lte=covered.north,
        map_lon__gte=covered.west,
        map_lon__lte=covered.east,
    )
    return Clusters(features=_features(_live_cells(qs, level)), covered=covered)


def _perimeter_commune_ids(perimeter) -> list[int]:
    from essaim.territories.models import PerimeterCommune

    perimeter_id = getattr(perimeter, "pk", perimeter)
    return list(
        PerimeterCommune.objects.filter(perimeter_id=perimeter_id).values_list("commune_id", flat=True)
    )


def _perimeter_count(perimeter, families: list[str]) -> int:
    qs = MapCell.objects.filter(level=COMMUNE_LEVEL, code__in=_perimeter_commune_ids(perimeter))
    if families:
        qs = qs.filter(family__in=families)
    return qs.aggregate(n=Sum("count"))["n"] or 0


def _perimeter_clusters(perimeter, families: list[str], bbox: BBox, level: int) -> Clusters:
    qs = MapCell.objects.filter(level=COMMUNE_LEVEL, code__in=_perimeter_commune_ids(perimeter))
    if families:
        qs = qs.filter(family__in=families)
    covered = covered_bbox(bbox, level)
    x0, y0, x1, y1 = _cell_range(bbox, level)
    shift = FINE_LEVEL - level
    cells: dict[int, dict] = {}
    for row in qs.values_list(
        "count",
        "sum_lat",
        "sum_lon",
        "west",
        "south",
        "east",
        "north",
        "sum_id",
        "commune_count",
        "sum_commune",
        "sum_commune_sq",
    ):
        count, sum_lat, sum_lon = row[0], row[1], row[2]
        x, y = _fine_x(sum_lon / count) >> shift, _fine_y(sum_lat / count) >> shift
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            continue
        code = morton(x, y)
        cell = cells.get(code)
        if cell is None:
            cells[code] = dict(zip(_CELL_KEYS, row, strict=True), code=code)
            continue
        for key, value in zip(_CELL_KEYS, row, strict=True):
            if key in ("west_", "south_"):
                cell[key] = min(cell[key], value)
            elif key in ("east_", "north_"):
                cell[key] = max(cell[key], value)
            else:
                cell[key] += value
    return Clusters(features=_features(list(cells.values())), covered=covered)


_CELL_KEYS = (
    "n",
    "lat",
    "lon",
    "west_",
    "south_",
    "east_",
    "north_",
    "ids",
    "with_commune",
    "communes",
    "communes_sq",
)


def _point(row) -> Point:
    return Point(
        id=row["pk"],
        name=row["name"],
        slug=row["slug"],
        latitude=row["map_lat"],
        longitude=row["map_lon"],
        commune_name=row["commune__name"] or "",
    )


def _round(value: float) -> float:
    # 5 decimals is about a metre: enough for a map, and it keeps the JSON compact.
    return round(value, 5)


def features_to_geojson(clusters: Clusters) -> dict:
    """An RFC 7946 FeatureCollection (longitude first) of clusters (``count`` > 1) and points; its
    ``bbox`` is the area the counts cover."""
    collection = []
    for feature in clusters.features:
        geometry = {"type": "Point", "coordinates": [_round(feature.longitude), _round(feature.latitude)]}
        if isinstance(feature, Cluster):
            collection.append(
                {
                    "type": "Feature",
                    "bbox": [_round(value) for value in feature.extent],
                    "geometry": geometry,
                    "properties": {"count": feature.count, "commune": feature.commune_name},
                }
            )
        else:
            collection.append(
                {
                    "type": "Feature",
                    "id": feature.id,
                    "geometry": geometry,
                    "properties": {
                        "count": 1,
                        "name": feature.name,
                        "slug": feature.slug,
                        "commune": feature.commune_name,
                    },
                }
            )
    answer = {"type": "FeatureCollection", "features": collection}
    if clusters.message:
        # A foreign member (RFC 7946, section 6.1) that the map shows in its status line.
        answer["message"] = clusters.message
    if clusters.covered is not None:
        covered = clusters.covered
        answer["bbox"] = [
            _round(covered.west),
            _round(covered.south),
            _round(covered.east),
            _round(covered.north),
        ]
    return answer
