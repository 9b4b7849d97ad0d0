r"""Timings of the agenda's calendar, map, widget and RSS feed on a throw-away database with 10,000 events.

    .venv/bin/python benchmarks/agenda_views.py                  # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5433/essaim_bench_agendaviews \
        .venv/bin/python benchmarks/agenda_views.py

Production settings (DEBUG off), Django's test client in this process (no network); the CPU time of this
process is printed too, as wall-clock times mean little on a loaded machine. The 10,000 events are
spread over about two years around today (about 420 a month, 14 a day), half of them with a point. Prints
median and p95 of 30 requests each. On PostgreSQL the database named in DATABASE_URL is created and dropped
(its name must start with "essaim_bench").
"""

import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from bench_env import use_production_settings  # noqa: E402

BENCH_DIR = use_production_settings("LOGGING = {'version': 1, 'disable_existing_loggers': False}\n")

import django  # noqa: E402

django.setup()

from bench_db import create_postgres_database, drop_postgres_database  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

EVENTS = 10_000
RUNS = 30


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * len(values)) - 1)]


def report(label: str, timings: list[float], cpu: list[float]) -> None:
    print(
        f"{label:44} median {statistics.median(timings):7.1f} ms   p95 {p95(timings):7.1f} ms"
        f"   (CPU de ce processus : p95 {p95(cpu):6.1f} ms)"
    )


def _admin_connection():
    import psycopg

    params = settings.DATABASES["default"]
    return psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], dbname="postgres", autocommit=True
    )


def make_events() -> None:
    from essaim.events.models import Event

    now = timezone.now()
    step = datetime.timedelta(hours=1.75)  # 10,000 events over about two years
    Event.objects.bulk_create(
        [
            Event(
                title=f"Rencontre {n}",
                slug=f"rencontre-{n}",
                search_title=f"rencontre {n}",
                description="Rencontre des acteurs de l'économie sociale et solidaire du territoire.",
                start=now + step * (n - EVENTS // 2),
                end=now + step * (n - EVENTS // 2) + datetime.timedelta(hours=3),
                status="published",
                place_name="Salle des fêtes",
                latitude=44.0 + (n % 100) / 100 if n % 2 else None,
                longitude=1.5 + (n % 37) / 100 if n % 2 else None,
            )
            for n in range(EVENTS)
        ],
        batch_size=1000,
    )


def measure(client: Client, label: str, url: str) -> None:
    timings, cpu = [], []
    for _ in range(RUNS):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        timings.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    report(label, timings, cpu)


def main() -> int:
    postgres = connection.vendor == "postgresql"
    if postgres:
        create_postgres_database()
    try:
        call_command("migrate", verbosity=0)
        make_events()
        print(f"Base : {connection.vendor} ; {EVENTS} événements ; charge : {os.getloadavg()[0]:.2f}")
        client = Client(HTTP_HOST="localhost")
        month = timezone.localdate().strftime("%Y-%m")
        measure(client, "calendrier, mois en cours", f"/agenda/calendrier/?territoire=tous&mois={month}")
        measure(
            client,
            "calendrier, recherche « rencontre 5 »",
            "/agenda/calendrier/?territoire=tous&q=rencontre+5",
        )
        measure(client, "carte (page, 500 premiers événements)", "/agenda/carte/?territoire=tous")
        measure(client, "carte (GeoJSON, 500 premiers événements)", "/agenda/carte.geojson?territoire=tous")
        measure(client, "widget (5 événements)", "/agenda/widget/?territoire=tous")
        measure(client, "flux RSS (50 événements)", "/agenda/rss/")
        print(f"Charge à la fin : {os.getloadavg()[0]:.2f}")
    finally:
        if postgres:
            drop_postgres_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
