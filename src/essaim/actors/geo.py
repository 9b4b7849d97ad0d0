"""Server-side clustering of published structures for the map.

Structures are grouped on a square grid (in degrees) whose cell size follows the zoom level, with one
``GROUP BY`` in SQL that runs the same on SQLite and PostgreSQL. A cell holding one structure becomes
that structure's point; zoomed in (or when few structures match) every structure is its own point.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

from django.db.models import Avg, Count, F, FloatField, Func, IntegerField, Max, Min
from django.db.models.functions import Coalesce

from essaim.actors.models import Structure
from essaim.territories.models import Commune

# Hard cap on the features of one answer, whatever the viewport.
MAX_FEATURES = 400
# From this zoom level on, structures are shown one by one (when there are at most MAX_FEATURES).
POINTS_ZOOM = 14
# Below POINTS_ZOOM, a viewport with at most this many structures still shows them one by one.
FEW_POINTS = 50
# Grid cells are about this fraction of a 256 px map tile wide (4 -> cells of about 64 px).
CELLS_PER_TILE = 4
MAX_ZOOM = 20


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


class _GridIndex(Func):
    """floor(value / cell) for a non-negative ``value``.

    SQLite: CAST truncates, which is floor for non-negative values and avoids the Python FLOOR Django
    registers there. PostgreSQL: CAST would round, hence FLOOR.
    """

    output_field = IntegerField()

    def __init__(self, expression, cell: float):
        super().__init__(expression, cell=cell)

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="FLOOR(%(expressions)s / %(cell)r)", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection, template="CAST(%(expressions)s / %(cell)r AS INTEGER)", **extra
        )


def cell_size(*, bbox: BBox, zoom: int) -> float:
    """Grid cell side (degrees) for ``zoom``, doubled until the bbox spans at most MAX_FEATURES cells."""
    cell = 360.0 / (2**zoom * CELLS_PER_TILE)
    while _cells_spanned(bbox, cell) > MAX_FEATURES:
        cell *= 2
    return cell


def _cells_spanned(bbox: BBox, cell: float) -> int:
    # Same shifted coordinates as the SQL grid (longitude + 180, latitude + 90), so the bound is exact.
    columns = math.floor((bbox.east + 180) / cell) - math.floor((bbox.west + 180) / cell) + 1
    rows = math.floor((bbox.north + 90) / cell) - math.floor((bbox.south + 90) / cell) + 1
    return columns * rows


def mappable_structures(filters: Mapping | None = None):
    """Published structures with a point (their own, else their commune's), annotated ``map_lat`` /
    ``map_lon``, filtered by ``filters``: ``family`` (a Family value), ``perimeter`` (a Perimeter or its
    pk) and ``text`` (words of the name or acronym); missing or empty keys do not filter."""
    filters = filters or {}
    qs = Structure.objects.published()
    if filters.get("perimeter"):
        qs = qs.in_perimeter(filters["perimeter"])
    if filters.get("family"):
        qs = qs.of_family(filters["family"])
    if filters.get("text"):
        qs = qs.search(filters["text"])
    return qs.annotate(
        map_lat=Coalesce(F("latitude"), F("commune__latitude"), output_field=FloatField()),
        map_lon=Coalesce(F("longitude"), F("commune__longitude"), output_field=FloatField()),
    ).filter(map_lat__isnull=False, map_lon__isnull=False)


def structure_clusters(*, bbox: BBox, zoom: int, filters: Mapping | None = None) -> list[Cluster | Point]:
    """Clusters and points of the published structures inside ``bbox`` at ``zoom``, at most MAX_FEATURES.

    Counts of the clusters and points add up to the number of matching structures in the bbox.
    Raises ValueError for a bbox or zoom out of range (callers validate user input first).
    """
    if not (
        -180 <= bbox.west < bbox.east <= 180
        and -90 <= bbox.south < bbox.north <= 90
        and 0 <= zoom <= MAX_ZOOM
    ):
        raise ValueError("Emprise ou niveau de zoom hors limites.")
    qs = mappable_structures(filters).filter(
        map_lat__gte=bbox.south, map_lat__lte=bbox.north, map_lon__gte=bbox.west, map_lon__lte=bbox.east
    )

    # Few enough structures (or zoomed in): one point each. The LIMIT lets the database stop early.
    limit = MAX_FEATURES if zoom >= POINTS_ZOOM else FEW_POINTS
    rows = list(qs.values("pk", "name", "slug", "map_lat", "map_lon", "commune__name")[: limit + 1])
    if len(rows) <= limit:
        return sorted((_point(row) for row in rows), key=lambda point: (point.name, point.id))

    cell = cell_size(bbox=bbox, zoom=zoom)
    cells = list(
        qs.annotate(
            cell_x=_GridIndex(F("map_lon") + 180.0, cell),
            cell_y=_GridIndex(F("map_lat") + 90.0, cell),
        )
        .values("cell_x", "cell_y")
        .annotate(
            count=Count("pk"),
            lat=Avg("map_lat"),
            lon=Avg("map_lon"),
            west=Min("map_lon"),
            south=Min("map_lat"),
            east=Max("map_lon"),
            north=Max("map_lat"),
            first_id=Min("pk"),
            first_commune=Min("commune_id"),
            last_commune=Max("commune_id"),
        )
        .order_by()
    )
    single_ids = [row["first_id"] for row in cells if row["count"] == 1]
    points = {
        row["pk"]: _point(row)
        for row in Structure.objects.filter(pk__in=single_ids)
        .annotate(
            map_lat=Coalesce(F("latitude"), F("commune__latitude"), output_field=FloatField()),
            map_lon=Coalesce(F("longitude"), F("commune__longitude"), output_field=FloatField()),
        )
        .values("pk", "name", "slug", "map_lat", "map_lon", "commune__name")
    }
    commune_ids = {
        row["first_commune"]
        for row in cells
        if row["count"] > 1
        and row["first_commune"] is not None
        and row["first_commune"] == row["last_commune"]
    }
    commune_names = dict(Commune.objects.filter(pk__in=commune_ids).values_list("pk", "name"))
    features: list[Cluster | Point] = []
    for row in cells:
        if row["count"] == 1 and row["first_id"] in points:
            features.append(points[row["first_id"]])
            continue
        same_commune = row["first_commune"] is not None and row["first_commune"] == row["last_commune"]
        features.append(
            Cluster(
                count=row["count"],
                latitude=row["lat"],
                longitude=row["lon"],
                extent=(row["west"], row["south"], row["east"], row["north"]),
                commune_name=commune_names.get(row["first_commune"], "") if same_commune else "",
            )
        )
    # Biggest clusters first: the list view reads in that order.
    features.sort(key=lambda f: (-f.count, "", f.latitude) if isinstance(f, Cluster) else (-1, f.name, f.id))
    return features


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


def features_to_geojson(features: list[Cluster | Point]) -> dict:
    """An RFC 7946 FeatureCollection (longitude first) of clusters (``count`` > 1) and points."""
    collection = []
    for feature in features:
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
    return {"type": "FeatureCollection", "features": collection}
