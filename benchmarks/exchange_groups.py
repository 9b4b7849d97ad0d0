"""Speed of the shared-job grouping (``essaim.exchange.shared_jobs.group_profiles``), in memory.

    .venv/bin/python benchmarks/exchange_groups.py [--needs 1000 5000] [--runs 5] [--seed 1]

The grouping runs on every page that shows suggested shared posts (the facilitators' page, the listing page
of a shared-job need); its only query is one indexed select of the needs of that job, so this times the
Python part: needs of a single job (the worst case: every need in one bucket) spread over mainland France,
with radii of 5 to 200 km. Prints the median and p95 per size with the machine's load.
"""

import argparse
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")

import django  # noqa: E402

django.setup()

from benchmarks.directory import percentile  # noqa: E402

from essaim.actors.models import Structure  # noqa: E402
from essaim.exchange.models import Listing, SharedJobProfile  # noqa: E402
from essaim.exchange.shared_jobs import group_profiles  # noqa: E402


def needs(count: int, rng: random.Random) -> list[SharedJobProfile]:
    profiles = []
    for n in range(1, count + 1):
        structure = Structure(
            pk=n, name=f"S{n}", latitude=rng.uniform(42.5, 51), longitude=rng.uniform(-4.5, 8)
        )
        listing = Listing(pk=n, structure=structure, radius_km=rng.choice([5, 10, 30, 30, 60, 200]))
        fte = Decimal(rng.choice(["0.1", "0.2", "0.3", "0.5"]))
        profiles.append(SharedJobProfile(pk=n, listing=listing, job_key="comptabl", fte=fte))
    profiles.sort(key=lambda p: (-p.fte, p.pk))
    return profiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"Charge au début : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} ({os.cpu_count()} cœurs)")
    for count in args.needs:
        profiles = needs(count, random.Random(args.seed))
        timings, groups = [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            groups = group_profiles(profiles)
            timings.append((time.perf_counter() - start) * 1000)
        print(
            f"{count} besoins d'un même métier : {len(groups)} regroupements ; "
            f"médiane {statistics.median(timings):.1f} ms, p95 {percentile(timings, 0.95):.1f} ms"
        )
    print(f"Charge à la fin : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
