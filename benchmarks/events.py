"""Timings of the agenda on a throw-away database (nothing is written to the development database).

    .venv/bin/python benchmarks/events.py                      # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5433/essaim_bench_events .venv/bin/python benchmarks/events.py

Measures: 200 concurrent registrations for 50 places (each in its own thread and connection, at most
BENCH_MAX_CONNECTIONS=60 connections at a time: exactly 50 confirmed and 150 on the waiting list, no error,
latency median / p95), the iCalendar feed of 1,000 events, and the attendance sheet PDF for 300 participants.
On PostgreSQL the database named in DATABASE_URL is created and dropped (its name must start with
"essaim_bench").
"""

import datetime
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")
_tmp = tempfile.TemporaryDirectory()
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp.name}/bench.sqlite3")
os.environ["ESSAIM_VAR_DIR"] = _tmp.name

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

REGISTRATIONS = 200
PLACES = 50
FEED_EVENTS = 1000
SHEET_PARTICIPANTS = 300
# PostgreSQL accepts 100 connections by default: at most this many registrations hold one at a time (the
# others queue for a slot, and that wait counts in their latency).
MAX_CONNECTIONS = int(os.environ.get("BENCH_MAX_CONNECTIONS", "60"))


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * len(values)) - 1)]


def report(label: str, timings: list[float]) -> None:
    print(f"{label:58} median {statistics.median(timings):8.1f} ms   p95 {p95(timings):8.1f} ms")


def create_postgres_database() -> None:
    name = settings.DATABASES["default"]["NAME"]
    if not name.startswith("essaim_bench"):
        raise SystemExit(
            "Sur PostgreSQL, le nom de la base doit commencer par essaim_bench (elle est supprimée)."
        )
    import psycopg

    params = settings.DATABASES["default"]
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_postgres_database() -> None:
    import psycopg

    connections.close_all()
    params = settings.DATABASES["default"]
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"], user=params["USER"], dbname="postgres", autocommit=True
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{params["NAME"]}"')


def bench_concurrent_registrations() -> None:
    from essaim.events import services
    from essaim.events.models import RegistrationStatus

    start = timezone.now() + datetime.timedelta(days=10)
    event = services.event_create(
        actor=None,
        title="Concurrence",
        start=start,
        end=start + datetime.timedelta(hours=3),
        status="published",
        place_name="Salle",
        registration_open=True,
        capacity=PLACES,
    )
    barrier = threading.Barrier(REGISTRATIONS)
    slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
    results: list = [None] * REGISTRATIONS
    timings: list = [None] * REGISTRATIONS

    def worker(i: int) -> None:
        try:
            barrier.wait()
            began = time.perf_counter()
            with slots:
                try:
                    registration = services.registration_create(
                        event=event, full_name=f"Personne {i}", email=f"p{i}@exemple.fr"
                    )
                finally:
                    connections.close_all()
            timings[i] = (time.perf_counter() - began) * 1000
            results[i] = registration.status
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(REGISTRATIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [r for r in results if isinstance(r, Exception)]
    confirmed = results.count(RegistrationStatus.CONFIRMED)
    waiting = results.count(RegistrationStatus.WAITING)
    print(
        f"{REGISTRATIONS} inscriptions simultanées pour {PLACES} places : {confirmed} confirmées, "
        f"{waiting} en attente, {len(errors)} erreurs" + (f" ({errors[0]!r})" if errors else "")
    )
    report("  durée d'une inscription", [t for t in timings if t is not None])


def bench_feed() -> None:
    from django.test import Client

    from essaim.events.models import Event

    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(
                title=f"Événement {n}",
                slug=f"evenement-{n}",
                search_title=f"evenement {n}",
                start=now + datetime.timedelta(hours=n),
                end=now + datetime.timedelta(hours=n + 2),
                status="published",
                place_name="Salle",
            )
            for n in range(FEED_EVENTS)
        ]
    )
    client = Client(HTTP_HOST="localhost")
    timings = []
    for _ in range(10):
        began = time.perf_counter()
        response = client.get("/agenda/agenda.ics")
        timings.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.status_code
    report(f"flux iCalendar ({FEED_EVENTS} événements)", timings)
    timings = []
    for _ in range(20):
        began = time.perf_counter()
        client.get("/agenda/?territoire=tous")
        timings.append((time.perf_counter() - began) * 1000)
    report(f"page agenda ({FEED_EVENTS + 1} événements, 20 par page)", timings)


def bench_attendance_sheet() -> None:
    from essaim.events.exports import attendance_sheet_pdf
    from essaim.events.models import Event, Registration

    event = Event.objects.get(title="Concurrence")
    Registration.objects.bulk_create(
        [
            Registration(
                event=event,
                full_name=f"Participant {n:03d}",
                search_name=f"participant {n:03d}",
                structure_name=f"Structure {n % 40}",
                status="confirmed",
                token=f"bench-{n}",
            )
            for n in range(SHEET_PARTICIPANTS)
        ]
    )
    rows = list(event.registrations.confirmed().order_by("search_name")[:SHEET_PARTICIPANTS])
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        attendance_sheet_pdf(event, rows)
        timings.append((time.perf_counter() - began) * 1000)
    report(f"feuille d'émargement PDF ({len(rows)} personnes)", timings)


def main() -> int:
    postgres = connection.vendor == "postgresql"
    if postgres:
        create_postgres_database()
    try:
        call_command("migrate", verbosity=0)
        print(f"Base : {connection.vendor}")
        bench_concurrent_registrations()
        bench_feed()
        bench_attendance_sheet()
    finally:
        if postgres:
            drop_postgres_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
