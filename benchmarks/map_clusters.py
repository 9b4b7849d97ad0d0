"""Speed of the map's clustering endpoint on the development database.

    .venv/bin/python benchmarks/map_clusters.py [--rows 100000] [--requests 200] [--seed 1]

Generates N published structures spread over the real communes of the loaded territories (weighted by
population; a third with their own point near the commune, the rest on the commune's point), then times
``/carte/clusters.geojson`` (the view, gzip included) for random 1280x800 px viewports at zooms 5 to 14 and
prints the median and p95 server time, the largest number of features and gzipped response sizes.
Migrations are applied first. Everything else runs inside a transaction rolled back at the end: the
database is left as it was.
Needs the territories (``essaim territories_load``): without communes with a point it stops with a message.
"""

import argparse
import gzip
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from essaim.actors.models import Structure  # noqa: E402
from essaim.core.text import normalize  # noqa: E402
from essaim.territories.models import Commune  # noqa: E402
from essaim.www.map.views import clusters  # noqa: E402

WORDS = [
    "Recyclerie",
    "Café associatif",
    "Ressourcerie",
    "Jardin partagé",
    "Coopérative",
    "Atelier vélo",
    "Épicerie solidaire",
    "Tiers-lieu",
    "Mutuelle",
    "Fondation",
    "Régie de quartier",
    "AMAP",
]
FAMILIES = ["association"] * 8 + ["mutuelle", "fondation", "esus"]
BATCH = 5000


def generate(rows: int, rng: random.Random) -> None:
    communes = list(
        Commune.objects.exclude(latitude=None).values_list(
            "pk", "name", "latitude", "longitude", "population"
        )
    )
    if not communes:
        sys.exit("Aucune commune avec un point : chargez les territoires (essaim territories_load).")
    weights = [math.sqrt(population or 1) for *_, population in communes]
    picks = rng.choices(communes, weights=weights, k=rows)
    batch = []
    for index, (commune_id, commune_name, lat, lon, _population) in enumerate(picks):
        name = f"{rng.choice(WORDS)} de {commune_name} {index}"
        own_point = rng.random() < 1 / 3
        batch.append(
            Structure(
                name=name,
                slug=f"bench-map-{index}",
                search_name=normalize(name),
                family=rng.choice(FAMILIES),
                status="published",
                commune_id=commune_id,
                latitude=max(-90, min(90, lat + rng.uniform(-0.02, 0.02))) if own_point else None,
                longitude=max(-180, min(180, lon + rng.uniform(-0.02, 0.02))) if own_point else None,
            )
        )
        if len(batch) == BATCH:
            Structure.objects.bulk_create(batch)
            batch = []
    Structure.objects.bulk_create(batch)


def viewport(rng: random.Random, centers) -> tuple[str, int]:
    zoom = rng.randint(5, 14)
    lat, lon = rng.choice(centers)
    degrees_per_px = 360 / (256 * 2**zoom)
    half_width = 640 * degrees_per_px
    half_height = 400 * degrees_per_px * math.cos(math.radians(lat))
    bbox = (
        max(-180, lon - half_width),
        max(-90, lat - half_height),
        min(180, lon + half_width),
        min(90, lat + half_height),
    )
    return ",".join(f"{value:.5f}" for value in bbox), zoom


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    factory = RequestFactory()
    call_command("migrate", verbosity=0)

    with transaction.atomic():
        started = time.perf_counter()
        generate(args.rows, rng)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE actors_structure")
        print(
            f"{connection.vendor}: {args.rows} structures générées en {time.perf_counter() - started:.1f} s "
            f"({Structure.objects.published().count()} publiées en tout)"
        )
        centers = list(Commune.objects.exclude(latitude=None).values_list("latitude", "longitude"))

        timings, sizes, features = [], [], []
        by_zoom: dict[int, list[float]] = {}
        for _ in range(args.requests):
            bbox, zoom = viewport(rng, centers)
            request = factory.get(
                "/carte/clusters.geojson",
                {"bbox": bbox, "zoom": zoom, "territoire": "tous"},
                HTTP_ACCEPT_ENCODING="gzip",
            )
            start = time.perf_counter()
            response = clusters(request)
            elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.content
            timings.append(elapsed)
            by_zoom.setdefault(zoom, []).append(elapsed)
            sizes.append(len(response.content))
            features.append(len(json.loads(gzip.decompress(response.content))["features"]))
        transaction.set_rollback(True)

    print(f"{args.requests} fenêtres 1280x800 px aléatoires, zooms 5 à 14 :")
    print(
        f"  temps serveur : médiane {statistics.median(timings):.1f} ms, "
        f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms"
    )
    print(f"  objets GeoJSON : max {max(features)}, médiane {statistics.median(features):.0f}")
    print(
        f"  réponse gzip : médiane {statistics.median(sizes) / 1024:.1f} Ko, max {max(sizes) / 1024:.1f} Ko"
    )
    for zoom in sorted(by_zoom):
        values = by_zoom[zoom]
        print(
            f"  zoom {zoom:2d} : médiane {statistics.median(values):6.1f} ms, "
            f"p95 {percentile(values, 0.95):6.1f} ms ({len(values)} requêtes)"
        )


if __name__ == "__main__":
    main()
