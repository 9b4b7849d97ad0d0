"""Public map of the structures ("Carte"): the page and its clustering endpoint."""

import json

from django.conf import settings
from django.db.models import Max, Min
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from essaim.actors.geo import MAX_ZOOM, BBox, features_to_geojson, mappable_structures, structure_clusters
from essaim.actors.models import Status
from essaim.territories.models import Commune, Perimeter
from essaim.www.actors.forms import ALL_TERRITORIES, StructureFilterForm

# Metropolitan France (west, south, east, north): the initial view without a home perimeter.
FRANCE_EXTENT = (-5.2, 41.3, 9.6, 51.1)
# Structures listed when JavaScript is off (the map cannot run): the rest is in the directory.
NO_SCRIPT_LIST_SIZE = 50
TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">les contributeurs d\'OpenStreetMap</a>'
)


def _filters(request):
    """The directory's filter form bound to the query string (territory defaults to the home perimeter),
    the service filters it means, and the selected perimeter."""
    perimeters = list(Perimeter.objects.order_by("-is_home", "name"))
    home = next((perimeter for perimeter in perimeters if perimeter.is_home), None)
    data = request.GET.copy()
    if not data.get("territoire"):
        data["territoire"] = home.slug if home else ALL_TERRITORIES
    form = StructureFilterForm(data, perimeters=perimeters)
    form.is_valid()  # Fields in error are left out of cleaned_data, hence ignored (as in the directory).
    cleaned = form.cleaned_data
    perimeter = next((p for p in perimeters if p.slug == cleaned.get("territoire")), None)
    filters = {"family": cleaned.get("famille"), "perimeter": perimeter, "text": cleaned.get("q")}
    return form, filters, perimeter


def _perimeter_extent(perimeter) -> tuple[float, float, float, float] | None:
    if perimeter is None:
        return None
    extent = Commune.objects.filter(perimeter_links__perimeter=perimeter, latitude__isnull=False).aggregate(
        west=Min("longitude"), south=Min("latitude"), east=Max("longitude"), north=Max("latitude")
    )
    if extent["west"] is None:
        return None
    return (extent["west"], extent["south"], extent["east"], extent["north"])


def _float(value, low, high):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def map_page(request):
    """The map, its filters and the list view of what it shows. Without JavaScript, the list shows the
    first structures matching the filters and links to the directory."""
    form, filters, perimeter = _filters(request)
    # Published first: the (status, name) index then gives the alphabetical order without a sort.
    structures = (
        mappable_structures(filters)
        .filter(status=Status.PUBLISHED)
        .select_related("commune")
        .order_by("name", "pk")
    )
    listed = list(structures[: NO_SCRIPT_LIST_SIZE + 1])
    query = request.GET.copy()
    for key in ("lat", "lon", "z"):
        query.pop(key, None)
    lat = _float(request.GET.get("lat"), -90, 90)
    lon = _float(request.GET.get("lon"), -180, 180)
    zoom = _float(request.GET.get("z"), 0, MAX_ZOOM)
    viewport = {"lat": lat, "lon": lon, "z": int(zoom)} if None not in (lat, lon, zoom) else None
    config = {
        "clustersUrl": reverse("map:clusters"),
        "detailUrl": reverse("actors:detail", kwargs={"slug": "__slug__"}),
        "tilesUrl": settings.ESSAIM_MAP_TILES_URL,
        "attribution": TILES_ATTRIBUTION,
        "extent": _perimeter_extent(perimeter) or FRANCE_EXTENT,
        "viewport": viewport,
    }
    context = {
        "form": form,
        "structures": listed[:NO_SCRIPT_LIST_SIZE],
        "has_more": len(listed) > NO_SCRIPT_LIST_SIZE,
        "directory_url": reverse("actors:list") + ("?" + query.urlencode() if query else ""),
        "map_config": config,
    }
    return render(request, "map/map.html", context)


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"erreur": message}, status=400, json_dumps_params={"ensure_ascii": False})


@require_GET
@gzip_page
def clusters(request):
    """GeoJSON (RFC 7946) clusters and points for ``bbox=west,south,east,north`` and ``zoom``, with the
    directory's filters. Bad parameters get a 400 with a French JSON error."""
    try:
        west, south, east, north = (float(part) for part in request.GET.get("bbox", "").split(","))
    except ValueError:
        return _bad_request("Paramètre bbox invalide : attendu « ouest,sud,est,nord » en degrés décimaux.")
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        return _bad_request(
            "Paramètre bbox hors limites : longitudes entre -180 et 180, latitudes entre -90 et 90, "
            "ouest < est et sud < nord."
        )
    try:
        zoom = int(request.GET.get("zoom", ""))
    except ValueError:
        return _bad_request(f"Paramètre zoom invalide : attendu un entier entre 0 et {MAX_ZOOM}.")
    if not 0 <= zoom <= MAX_ZOOM:
        return _bad_request(f"Paramètre zoom hors limites : attendu un entier entre 0 et {MAX_ZOOM}.")
    _form, filters, _perimeter = _filters(request)
    answer = structure_clusters(bbox=BBox(west, south, east, north), zoom=zoom, filters=filters)
    body = json.dumps(features_to_geojson(answer), ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(body, content_type="application/geo+json")
    response["Cache-Control"] = "public, max-age=60"
    return response
