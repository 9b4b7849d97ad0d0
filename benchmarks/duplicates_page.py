"""Speed of the facilitators' duplicates page (/annuaire/doublons/), with and without its cache.

    .venv/bin/python benchmarks/duplicates_page.py [--rows 5000] [--requests 20] [--seed 1]

Generates N structures over the real communes of the loaded territories (weighted by population; about 3 %
are near-copies of another card: similar name close by, or same email / website), then times the page view:

- "sans cache": the cache is emptied before each request, as when the page recomputed every candidate on
  each visit;
- "avec cache": the page as it is, data unchanged between visits;
- "après une écriture": one card is modified before each request (the candidates are computed again).

Prints median and p95 server times. Migrations are applied first. Everything else runs inside a transaction
rolled back at the end: the database is left as it was. Needs the territories (``essaim territories_load``).
"""

import argparse
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

from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.utils import timezone  # noqa: E402

from essaim.accounts.models import Role, User  # noqa: E402
from essaim.actors.models import Structure  # noqa: E402
from essaim.core.text import normalize  # noqa: E402
from essaim.territories.models import Commune  # noqa: E402
from essaim.www.actors.duplicates import duplicate_list  # noqa: E402

WORDS = [
    "Recyclerie",
    "Café associatif",
    "Ressourcerie",
    "Jardin partagé",
    "Atelier vélo",
    "Épicerie solidaire",
]
WORDS += ["Tiers-lieu", "Régie de quartier", "AMAP", "Compagnie", "Chorale", "Club"]
NAMES = [
    "des Ateliers",
    "du Pont",
    "de la Vallée",
    "Solidaire",
    "des Possibles",
    "Les Colibris",
    "Terre Vive",
]


class _Rollback(Exception):
    pass


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
    cards = []
    for index, (commune_id, commune_name, lat, lon, _population) in enumerate(picks):
        name = f"{rng.choice(WORDS)} {rng.choice(NAMES)} {commune_name} {index}"
        latitude = longitude = None
        if rng.random() < 0.5:
            latitude, longitude = lat + rng.uniform(-0.02, 0.02), lon + rng.uniform(-0.02, 0.02)
        email = f"contact{index}@exemple.org" if rng.random() < 0.6 else ""
        website = f"https://structure{index}.exemple.org" if rng.random() < 0.4 else ""
        if cards and rng.random() < 0.03:  # a near-copy of an earlier card
            original = rng.choice(cards)
            name = original.name.replace(" ", "  ", 1) + " asso"
            commune_id, latitude, longitude = original.commune_id, original.latitude, original.longitude
            email = original.email if rng.random() < 0.5 else email
            website = original.website if rng.random() < 0.5 else website
        cards.append(
            Structure(
                name=name,
                slug=f"bench-doublons-{index}",
                search_name=normalize(name),
                family="association",
                status="published",
                commune_id=commune_id,
                latitude=latitude,
                longitude=longitude,
                email=email,
                website=website,
            )
        )
    Structure.objects.bulk_create(cards, batch_size=2000)


def timed(request, runs: int, before=None) -> list[float]:
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        response = duplicate_list(request)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return times


def summary(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    median = statistics.median(ordered)
    return f"{label:<22} médiane {median:8.1f} ms   p95 {p95:8.1f} ms   ({len(times)} requêtes)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    call_command("migrate", verbosity=0)
    rng = random.Random(options.seed)
    try:
        with transaction.atomic():
            generate(options.rows, rng)
            user = User(email="bench-doublons@exemple.org", role=Role.FACILITATOR)
            user.save()
            request = RequestFactory().get("/annuaire/doublons/")
            request.user = user
            request.session = {}
            request._messages = []
            cache.clear()
            first = duplicate_list(request).content.decode()
            pairs = first.count("duplicates__pair")
            ids = list(
                Structure.objects.filter(slug__startswith="bench-doublons-").values_list("pk", flat=True)
            )

            def write():
                Structure.objects.filter(pk=rng.choice(ids)).update(updated_at=timezone.now())

            print(f"{options.rows} fiches, {pairs} paires affichées (limite 100)")
            print(summary("sans cache", timed(request, options.requests, before=cache.clear)))
            print(summary("avec cache", timed(request, options.requests * 5)))
            print(summary("après une écriture", timed(request, options.requests, before=write)))
            request.user = AnonymousUser()
            raise _Rollback
    except _Rollback:
        pass


if __name__ == "__main__":
    main()
