"""Map layer of offers and needs: a GeoJSON endpoint of the listed listings (at their structure's point, with
the list's filters) and the map page, whose list shows exactly the features of the map."""

import json

from django.conf import settings
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from essaim.exchange.alerts import text_search
from essaim.exchange.models import Listing
from essaim.www.exchange.views import filtered_listings

# Features in one answer: enough for a territory, small enough for a phone. The newest come first.
MAX_FEATURES = 500
# Metropolitan France (west, south, east, north): the initial view when no listing has a point.
FRANCE_EXTENT = (-5.2, 41.3, 9.6, 51.1)
TILES_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">les contributeurs d\'OpenStreetMap</a>'
)


def _filtered(request):
    """The list's filter form bound to the query string (territory defaults to the home perimeter, as on the
    list page) and the listed listings it selects, each with ``lat`` / ``lon`` (its structure's point)."""
    form, _data, listings, perimeter = filtered_listings(request)
    filters = form.cleaned_data
    if filters.get("q"):
        listings = text_search(listings, filters["q"])
    # The listings' copy of their structure's point (see exchange.search.listings_locate).
    listings = (
        listings.annotate(lat=F("latitude"), lon=F("longitude"))
        .filter(lat__isnull=False, lon__isnull=False)
        .select_related("structure__commune")
        .order_by("-published_at", "-pk")
    )
    return form, listings, perimeter


def _features(listings) -> tuple[list[Listing], bool]:
    rows = list(listings[: MAX_FEATURES + 1])
    return rows[:MAX_FEATURES], len(rows) > MAX_FEATURES


def _feature(listing: Listing) -> dict:
    return {
        "type": "Feature",
        "id": listing.pk,
        # RFC 7946: longitude first.
        "geometry": {"type": "Point", "coordinates": [round(listing.lon, 6), round(listing.lat, 6)]},
        "properties": {
            "title": listing.title,
            "direction": listing.direction,
            "label": f"{listing.get_direction_display()} · {listing.get_kind_display()}",
            "structure": listing.structure.name,
            "commune": listing.structure.commune.name if listing.structure.commune_id else "",
            "url": reverse("exchange:detail", args=[listing.pk]),
        },
    }


@require_GET
def listing_geojson(request):
    """GeoJSON (RFC 7946) FeatureCollection of the listed listings matching the list's filters, newest first,
    at most MAX_FEATURES (``truncated`` then says so). Listings without a point are left out."""
    _form, listings, _perimeter = _filtered(request)
    rows, truncated = _features(listings)
    collection = {
        "type": "FeatureCollection",
        "features": [_feature(listing) for listing in rows],
        "truncated": truncated,
    }
    body = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    response = HttpResponse(body, content_type="application/geo+json")
    response["Cache-Control"] = "public, max-age=60"
    return response


def listing_map(request):
    """The map of the listings and the list of what it shows (the same features, also without JavaScript)."""
    form, listings, perimeter = _filtered(request)
    rows, truncated = _features(listings)
    query = request.GET.copy()
    query.pop("page", None)
    query_string = query.urlencode()
    lons, lats = [listing.lon for listing in rows], [listing.lat for listing in rows]
    extent = (min(lons), min(lats), max(lons), max(lats)) if rows else FRANCE_EXTENT
    config = {
        "geojsonUrl": reverse("exchange:geojson") + (f"?{query_string}" if query_string else ""),
        "tilesUrl": settings.ESSAIM_MAP_TILES_URL,
        "attribution": TILES_ATTRIBUTION,
        "extent": extent,
    }
    context = {
        "form": form,
        "listings": rows,
        "truncated": truncated,
        "max_features": MAX_FEATURES,
        "perimeter": perimeter,
        "query": query_string,
        "map_config": config,
    }
    return render(request, "exchange/listing_map.html", context)
