"""Timings of the territory queries on the development database (load the COG first).

    .venv/bin/python manage.py territories_load
    .venv/bin/python benchmarks/territories.py

Prints the median and 95th percentile of commune autocomplete and of perimeter queries. The perimeters it
needs are created inside a transaction that is rolled back at the end: the database is left unchanged.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from essaim.territories.models import Commune, Perimeter  # noqa: E402
from essaim.territories.services import perimeter_save  # noqa: E402

QUERIES = [
    "ramonville",
    "st etienne",
    "31520",
    "periscope",
    "peri",
    "toul",
    "saint",
    "montauban 82",
    "31",
    "l'ab",
]
ROUNDS = 30


class Rollback(Exception):
    pass


def measure(label: str, function, rounds: int = ROUNDS) -> None:
    function()  # warm-up
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    print(f"{label:48} median {statistics.median(timings):7.2f} ms   p95 {p95:7.2f} ms")


def main() -> int:
    total = Commune.objects.count()
    if total < 30_000:
        print("Chargez d'abord le COG : .venv/bin/python manage.py territories_load", file=sys.stderr)
        return 1
    print(f"Base : {connection.vendor}, {total} communes, {ROUNDS} mesures par ligne\n")
    all_search = []
    for query in QUERIES:
        measure(f"search({query!r})", lambda q=query: list(Commune.objects.search(q)))
        all_search.append(query)
    measure(
        "search, all queries in turn",
        lambda: [list(Commune.objects.search(q)) for q in all_search],
        rounds=10,
    )
    try:
        with transaction.atomic():
            big = perimeter_save(slug="bench-occitanie", name="Occitanie", kind="region", region_codes=["76"])
            small = perimeter_save(
                slug="bench-sicoval", name="Sicoval", kind="epci", epci_codes=["243100633"]
            )
            dep = perimeter_save(
                slug="bench-31", name="Haute-Garonne", kind="departement", departement_codes=["31"]
            )
            ramonville = Commune.objects.get(code="31446")
            print()
            for perimeter in (big, dep, small):
                count = Commune.objects.in_perimeter(perimeter).count()
                measure(
                    f"in_perimeter({perimeter.name}, {count}) first 50",
                    lambda p=perimeter: list(Commune.objects.in_perimeter(p).order_by("name")[:50]),
                )
                measure(
                    f"in_perimeter({perimeter.name}) count",
                    lambda p=perimeter: Commune.objects.in_perimeter(p).count(),
                )
            measure("containing(Ramonville)", lambda: list(Perimeter.objects.containing(ramonville)))
            measure(
                "in_perimeter(Occitanie).filter(code=...).exists()",
                lambda: Commune.objects.in_perimeter(big).filter(code="31446").exists(),
            )
            raise Rollback
    except Rollback:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
