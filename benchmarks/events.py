"""Timings of the agenda on a throw-away database (nothing is written to the development database).

    .venv/bin/python benchmarks/events.py                      # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5433/essaim_bench_events .venv/bin/python benchmarks/events.py

Runs with the production settings (DEBUG off; plain static files instead of the collected manifest) and
measures, printing median and p95:

- 200 simultaneous registrations for 50 places, posted to the registration form of a real gunicorn server
  started like ``essaim serve`` (BENCH_WORKERS sync worker processes, default 2 x cores + 1 at most 8, each
  with its own persistent database connection): exactly 50 confirmed and 150 on the waiting list, no error.
  The latency that counts is the server's (gunicorn's request time: from the parsed request to the
  response, waits for the event's lock included); the client's (queueing for a free worker included) is
  printed too, and the workers' CPU time per registration (from /proc).
- the iCalendar feed of 1,000 events, cold (every request builds the feed) and revalidated (304);
- the agenda page with 10,000 events (page 1, a deep page, a title search);
- the attendance sheet PDF for 300 participants (the layout alone, and the facilitator's download).

In-process figures also give this process's CPU time: on a shared machine the wall time counts the waits for
a core.

Arguments pick some of them: ``inscriptions``, ``flux``, ``agenda``, ``emargement`` (default: all).
On PostgreSQL the database named in DATABASE_URL is created and dropped (its name must start with
"essaim_bench").
"""

import datetime
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from bench_env import use_production_settings  # noqa: E402

BENCH_DIR = use_production_settings()

import django  # noqa: E402

django.setup()

from bench_db import create_postgres_database, drop_postgres_database  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

REGISTRATIONS = 200
PLACES = 50
FEED_EVENTS = 1000
AGENDA_EVENTS = 10_000
SHEET_PARTICIPANTS = 300
WORKERS = int(os.environ.get("BENCH_WORKERS") or min(2 * (os.cpu_count() or 1) + 1, 8))


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * len(values)) - 1)]


def report(label: str, timings: list[float], cpu: list[float] | None = None) -> None:
    """Median and p95 of ``timings``; with ``cpu`` (this process's CPU time for each), their median too: on
    a machine shared with other work, the wall time counts the waits for a core, the CPU time does not."""
    line = f"{label:62} median {statistics.median(timings):8.1f} ms   p95 {p95(timings):8.1f} ms"
    if cpu:
        line += f"   (CPU : median {statistics.median(cpu):6.1f} ms, p95 {p95(cpu):6.1f} ms)"
    print(line)


def timed(callable_, times: int) -> tuple[list[float], list[float], object]:
    """Wall and CPU milliseconds of ``times`` calls of ``callable_``, and its last result."""
    wall, cpu = [], []
    for _ in range(times):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = callable_()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return wall, cpu, result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(access_log: Path, warm_up: list[str]) -> tuple[subprocess.Popen, int]:
    """A gunicorn like ``essaim serve``'s, once ``warm_up`` pages answered (long-lived workers have imported
    the code and compiled the templates)."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(ROOT / "src")])}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "essaim.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--backlog",
            "2048",
            "--access-logfile",
            str(access_log),
            # Method, path, status and the request time in microseconds, measured by the worker.
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(D)s",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            # Requests go to whichever worker is free: a few per worker reach most of them.
            for path in warm_up * WORKERS * 3:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path)
                conn.getresponse().read()
                conn.close()
            return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"gunicorn n'a pas démarré : {server.stderr.read().decode()[-2000:]}")


def _workers_cpu_ms(server: subprocess.Popen) -> float | None:
    """CPU time used so far by the gunicorn workers (children of ``server``), from /proc; None elsewhere."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        ticks = 0
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def bench_concurrent_registrations() -> None:
    from essaim.events import services
    from essaim.events.models import Registration, RegistrationStatus

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
    connections.close_all()
    access_log = BENCH_DIR / "access.log"
    path = f"/agenda/{event.slug}/inscription/"
    server, port = _start_server(access_log, ["/agenda/?territoire=tous", path])
    # One CSRF secret for every client: Django accepts the unmasked secret as the form's token.
    secret = "b" * 32
    barrier = threading.Barrier(REGISTRATIONS)
    outcomes: list = [None] * REGISTRATIONS
    client_ms: list = [None] * REGISTRATIONS

    def client(i: int) -> None:
        body = (
            f"csrfmiddlewaretoken={secret}&full_name=Personne+{i}&email=p{i}%40exemple.fr&consent=on"
        ).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={secret}",
            "Host": "127.0.0.1",
        }
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            conn.connect()
            barrier.wait()
            began = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            page = response.read().decode()
            client_ms[i] = (time.perf_counter() - began) * 1000
            conn.close()
            if response.status != 200:
                outcomes[i] = f"HTTP {response.status}"
            elif "Inscription confirmée</h1>" in page:
                outcomes[i] = RegistrationStatus.CONFIRMED
            elif "liste d'attente</h1>" in page or "liste d&#x27;attente</h1>" in page:
                outcomes[i] = RegistrationStatus.WAITING
            else:
                outcomes[i] = "formulaire refusé"
        except Exception as exc:  # counted as an error
            outcomes[i] = repr(exc)

    try:
        log_start = access_log.stat().st_size
        cpu_start = _workers_cpu_ms(server)
        threads = [threading.Thread(target=client, args=(i,)) for i in range(REGISTRATIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(0.5)  # gunicorn writes its access log after the response
        cpu_end = _workers_cpu_ms(server)
        with access_log.open() as log:
            log.seek(log_start)
            server_ms = [
                int(m.group(1)) / 1000
                for m in (re.fullmatch(rf"POST {re.escape(path)} \d+ (\d+)", line.strip()) for line in log)
                if m
            ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    errors = [o for o in outcomes if o not in (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING)]
    confirmed = outcomes.count(RegistrationStatus.CONFIRMED)
    waiting = outcomes.count(RegistrationStatus.WAITING)
    in_db = Registration.objects.filter(event=event).holding().count()
    print(
        f"{REGISTRATIONS} inscriptions simultanées (POST, gunicorn {WORKERS} processus) "
        f"pour {PLACES} places : "
        f"{confirmed} confirmées, {waiting} en attente, {len(errors)} erreurs"
        + (f" ({errors[0]})" if errors else "")
        + f" ; en base : {in_db} places prises"
    )
    report("  durée côté serveur (traitement, attente du verrou comprise)", server_ms)
    report("  durée côté client (file d'attente des processus comprise)", [t for t in client_ms if t])
    if cpu_start is not None and cpu_end is not None:
        per_registration = (cpu_end - cpu_start) / REGISTRATIONS
        print(f"  temps CPU des processus web par inscription : {per_registration:.1f} ms")


def _make_events(count: int, *, prefix: str) -> None:
    from essaim.events.models import Event

    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(
                title=f"{prefix} {n}",
                slug=f"{prefix.lower()}-{n}",
                search_title=f"{prefix.lower()} {n}",
                description="Rencontre des acteurs de l'économie sociale et solidaire du territoire.",
                # Half past, half to come: the agenda shows what is to come.
                start=now + datetime.timedelta(hours=n - count // 2),
                end=now + datetime.timedelta(hours=n - count // 2 + 2),
                status="published",
                place_name="Salle des fêtes",
                address=f"{n} place de la Mairie",
            )
            for n in range(count)
        ],
        batch_size=1000,
    )


def bench_feed() -> None:
    from django.test import Client

    _make_events(FEED_EVENTS, prefix="Flux")
    client = Client(HTTP_HOST="localhost")
    timings, cpu, response = timed(lambda: client.get("/agenda/agenda.ics"), 20)
    assert response.status_code == 200, response.status_code
    count = response.content.count(b"BEGIN:VEVENT")
    report(f"flux iCalendar ({count} événements), calculé à chaque fois", timings, cpu)
    validators = {}
    if response.has_header("ETag"):
        validators["HTTP_IF_NONE_MATCH"] = response["ETag"]
    if response.has_header("Last-Modified"):
        validators["HTTP_IF_MODIFIED_SINCE"] = response["Last-Modified"]
    if validators:
        timings, cpu, response = timed(lambda: client.get("/agenda/agenda.ics", **validators), 20)
        assert response.status_code == 304, response.status_code
        report("flux iCalendar revalidé (304 Not Modified)", timings, cpu)


def bench_agenda() -> None:
    from django.test import Client

    from essaim.events.models import Event

    _make_events(AGENDA_EVENTS - Event.objects.count(), prefix="Agenda")
    total = Event.objects.count()
    client = Client(HTTP_HOST="localhost")
    for label, url in (
        ("page 1", "/agenda/?territoire=tous"),
        ("page 100", "/agenda/?territoire=tous&page=100"),
        ("recherche « agenda 99 »", "/agenda/?territoire=tous&q=agenda+99"),
    ):
        timings, cpu, response = timed(lambda url=url: client.get(url), 30)
        assert response.status_code == 200, response.status_code
        report(f"page agenda ({total} événements), {label}", timings, cpu)


def bench_attendance_sheet() -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from essaim.events.exports import attendance_sheet_pdf
    from essaim.events.models import Event, Registration

    start = timezone.now() + datetime.timedelta(days=20)
    event = Event.objects.create(
        title="Émargement",
        slug="emargement",
        search_title="emargement",
        start=start,
        end=start + datetime.timedelta(hours=3),
        status="published",
        place_name="Salle",
    )
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
    timings, cpu, pdf = timed(lambda: attendance_sheet_pdf(event, rows), 5)
    assert pdf.startswith(b"%PDF"), pdf[:10]
    report(f"feuille d'émargement PDF ({len(rows)} personnes), mise en page", timings, cpu)
    # The whole page a facilitator downloads: access check, query, PDF.
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.create_user("animation@exemple.fr", role="facilitator"))
    timings, cpu, response = timed(lambda: client.get(f"/agenda/{event.slug}/emargement.pdf"), 5)
    assert response.status_code == 200 and response.content.startswith(b"%PDF"), response.status_code
    report(f"feuille d'émargement PDF ({len(rows)} personnes), téléchargement", timings, cpu)


PARTS = {
    "inscriptions": bench_concurrent_registrations,
    "flux": bench_feed,
    "agenda": bench_agenda,
    "emargement": bench_attendance_sheet,
}


def main() -> int:
    postgres = connection.vendor == "postgresql"
    if postgres:
        create_postgres_database()
    try:
        call_command("migrate", verbosity=0)
        print(f"Base : {connection.vendor} ; charge : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        wanted = set(sys.argv[1:]) or set(PARTS)
        for name, bench in PARTS.items():
            if name in wanted:
                bench()
        print(f"Charge à la fin : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    finally:
        if postgres:
            drop_postgres_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
