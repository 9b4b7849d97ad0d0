"""Speed of the map's clustering endpoint.

    DATABASE_URL=sqlite:////tmp/bench_map.sqlite3 .venv/bin/python benchmarks/map_clusters.py \\
        [--rows 1000000] [--requests 300] [--seed 1] [--keep]

Generates N published structures spread over the real communes of the loaded territories (weighted by
population; a third with their own point near the commune, the rest on the commune's point), rebuilds the
map (``map_reindex``, timed), then times ``/carte/clusters.geojson`` (the view, gzip included) for random
1280x800 px viewports at zooms 3 to 18, without filter and with each of the map's filters (family: from the
precomputed cells; territory = a département perimeter, and name text: grouped live). Prints, per filter and
zoom band, the median and p95 server time, the largest number of features and the gzipped sizes.

Migrations are applied first. Without ``--keep`` everything runs inside a transaction rolled back at the
end. With ``--keep`` the generated structures stay (and are reused by the next run with ``--keep``: only the
missing ones are generated, and the rebuild is timed again only when some were, or with ``--reindex``).
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
from contextlib import nullcontext
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

from essaim.actors.geo import map_reindex  # noqa: E402
from essaim.actors.importers.base import BulkInserter  # noqa: E402
from essaim.actors.models import MapCell, Structure  # noqa: E402
from essaim.core.text import normalize  # noqa: E402
from essaim.territories.models import Commune, Perimeter  # noqa: E402
from essaim.territories.services import perimeter_save  # noqa: E402
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
BATCH = 20_000
SLUG_PREFIX = "bench-map-"
PERIMETER_SLUG = "bench-map-haute-garonne"
PERIMETER_DEPARTEMENT = "31"
BANDS = [(3, 6), (7, 10), (11, 14), (15, 18)]


def generate(start: int, rows: int, rng: random.Random) -> None:
    communes = list(
        Commune.objects.exclude(latitude=None).values_list(
            "pk", "name", "latitude", "longitude", "population"
        )
    )
    weights = [math.sqrt(population or 1) for *_, population in communes]
    picks = rng.choices(communes, weights=weights, k=rows - start)
    # The import's inserter (one executemany or COPY per batch): bulk_create is several times slower.
    inserter = BulkInserter(
        Structure, ("name", "slug", "search_name", "family", "status", "commune_id", "latitude", "longitude")
    )
    if connection.vendor == "sqlite":
        # As the import does: SQLite's default 2 MB page cache thrashes on the indexes of a million rows.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -1048576")
    batch = []
    for index, (commune_id, commune_name, lat, lon, _population) in enumerate(picks, start=start):
        name = f"{rng.choice(WORDS)} de {commune_name} {index}"
        own_point = rng.random() < 1 / 3
        batch.append(
            (
                name,
                f"{SLUG_PREFIX}{index}",
                normalize(name),
                rng.choice(FAMILIES),
                "published",
                commune_id,
                max(-90, min(90, lat + rng.uniform(-0.02, 0.02))) if own_point else None,
                max(-180, min(180, lon + rng.uniform(-0.02, 0.02))) if own_point else None,
            )
        )
        if len(batch) == BATCH:
            with transaction.atomic():
                inserter.insert(batch)
            batch = []
    with transaction.atomic():
        inserter.insert(batch)


def viewport(rng: random.Random, centers, zoom: int) -> str:
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
    return ",".join(f"{value:.5f}" for value in bbox)


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def measure(factory, rng, centers, params: dict, requests: int) -> dict[tuple[int, int], list[tuple]]:
    """{zoom band: [(ms, gzip bytes, features, process CPU ms)]} for ``requests`` random viewports with
    ``params``. The CPU time of this process includes SQLite's work, not PostgreSQL's (another process)."""
    results: dict[tuple[int, int], list[tuple]] = {band: [] for band in BANDS}
    for index in range(requests):
        band = BANDS[index % len(BANDS)]
        zoom = rng.randint(*band)
        request = factory.get(
            "/carte/clusters.geojson",
            {"bbox": viewport(rng, centers, zoom), "zoom": zoom, **params},
            HTTP_ACCEPT_ENCODING="gzip",
        )
        start, cpu = time.perf_counter(), time.process_time()
        response = clusters(request)
        elapsed = (time.perf_counter() - start) * 1000
        cpu = (time.process_time() - cpu) * 1000
        assert response.status_code == 200, response.content
        # Django leaves answers under 200 bytes uncompressed.
        body = gzip.decompress(response.content) if response.get("Content-Encoding") else response.content
        features = len(json.loads(body)["features"])
        results[band].append((elapsed, len(response.content), features, cpu))
    return results


def report(label: str, results) -> None:
    every = [item for items in results.values() for item in items]
    print(f"{label} (temps serveur, charge de la machine {os.getloadavg()[0]:.1f}) :")
    for band, items in [*results.items(), (("tous", "zooms"), every)]:
        times = [item[0] for item in items]
        sizes = [item[1] for item in items]
        print(
            f"  zooms {band[0]}-{band[1]} : médiane {statistics.median(times):6.1f} ms, "
            f"p95 {percentile(times, 0.95):6.1f} ms, max {max(times):6.1f} ms "
            f"(CPU p95 {percentile([item[3] for item in items], 0.95):5.1f} ms) ; "
            f"objets max {max(item[2] for item in items):3d} ; "
            f"gzip p95 {percentile(sizes, 0.95) / 1024:5.1f} Ko, max {max(sizes) / 1024:5.1f} Ko "
            f"({len(items)} requêtes)"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300, help="Requêtes sans filtre (et 1/3 par filtre).")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="Garder (et réutiliser) les structures générées.")
    parser.add_argument("--reindex", action="store_true", help="Reconstruire la carte même sans génération.")
    parser.add_argument("--no-requests", action="store_true", help="Générer et reconstruire seulement.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    factory = RequestFactory()
    call_command("migrate", verbosity=0)
    if not Commune.objects.exclude(latitude=None).exists():
        sys.exit("Aucune commune avec un point : chargez les territoires (essaim territories_load).")

    with nullcontext() if args.keep else transaction.atomic():
        existing = Structure.objects.filter(slug__startswith=SLUG_PREFIX).count() if args.keep else 0
        if existing < args.rows:
            started = time.perf_counter()
            generate(existing, args.rows, random.Random(args.seed + existing))
            print(
                f"{connection.vendor} : {args.rows - existing} structures générées en "
                f"{time.perf_counter() - started:.1f} s"
            )
        if existing < args.rows or args.reindex:
            started = time.perf_counter()
            result = map_reindex()
            print(
                f"  reconstruction de la carte (map_reindex) : {time.perf_counter() - started:.1f} s "
                f"({result['structures']} positions, {result['cells']} cellules)"
            )
            if connection.vendor == "postgresql" and args.keep:
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE actors_structure")
                    cursor.execute("VACUUM ANALYZE actors_mapcell")
        perimeter = Perimeter.objects.filter(slug=PERIMETER_SLUG).first() or perimeter_save(
            slug=PERIMETER_SLUG,
            name="Haute-Garonne (banc d'essai)",
            kind="custom",
            departement_codes=[PERIMETER_DEPARTEMENT],
        )
        print(
            f"{connection.vendor} : {Structure.objects.filter(map_cell__isnull=False).count()} structures "
            f"sur la carte, {MapCell.objects.count()} cellules précalculées"
        )
        centers = list(Commune.objects.exclude(latitude=None).values_list("latitude", "longitude"))
        local = list(
            Commune.objects.filter(perimeter_links__perimeter=perimeter)
            .exclude(latitude=None)
            .values_list("latitude", "longitude")
        )
        if args.no_requests:
            return
        measure(factory, rng, centers, {"territoire": "tous"}, 20)  # warm-up, not counted
        print(f"Fenêtres 1280x800 px aléatoires, zooms {BANDS[0][0]} à {BANDS[-1][1]} :")
        report("sans filtre", measure(factory, rng, centers, {"territoire": "tous"}, args.requests))
        third = max(len(BANDS), args.requests // 3)
        report(
            "famille (cellules précalculées)",
            measure(factory, rng, centers, {"territoire": "tous", "famille": "mutuelle"}, third),
        )
        report(
            f"territoire = département {PERIMETER_DEPARTEMENT} (calcul direct)",
            measure(factory, rng, local, {"territoire": perimeter.slug}, third),
        )
        report(
            "texte « recyclerie » (calcul direct)",
            measure(factory, rng, centers, {"territoire": "tous", "q": "recyclerie"}, third),
        )
        if not args.keep:
            transaction.set_rollback(True)


if __name__ == "__main__":
    main()
