r"""Timings of the agenda's registration data tasks on a throw-away database (nothing is written to the
development database).

    .venv/bin/python benchmarks/events_privacy.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5433/essaim_bench_privacy \
        .venv/bin/python benchmarks/events_privacy.py

Measures, printing median and p95 over a few runs (data rebuilt before each run):

- the retention purge of 10 events of 300 participants (3,000 registrations, 2 answers each);
- queuing a message to 1,000 confirmed participants (one stored email each, in batches);
- the reminders of an event of 1,000 confirmed participants (one email with its .ics each);
- the registration form with 10 custom questions (GET and a valid POST) through the Django test client.

On PostgreSQL the database named in DATABASE_URL is created and dropped (its name must start with
"essaim_bench").
"""

import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
_tmp = tempfile.TemporaryDirectory()
Path(_tmp.name, "bench_settings.py").write_text(
    "import os\n"
    "os.environ.setdefault('SECRET_KEY', 'benchmark-only-insecure-key')\n"
    "os.environ.setdefault('ESSAIM_HTTPS', 'false')\n"
    "from essaim.settings.base import *  # noqa\n"
    "ALLOWED_HOSTS = ['127.0.0.1', 'localhost', 'testserver']\n"
    "STORAGES = {**STORAGES, 'staticfiles': "
    "{'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}\n"
    "WHITENOISE_USE_FINDERS = True\n"
    "STATIC_ROOT.mkdir(parents=True, exist_ok=True)\n"
)
sys.path.insert(0, _tmp.name)
os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp.name}/bench.sqlite3")
os.environ["ESSAIM_VAR_DIR"] = _tmp.name

import django  # noqa: E402

django.setup()

from bench_db import create_postgres_database, drop_postgres_database  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

RUNS = 5
PURGE_EVENTS, PURGE_PARTICIPANTS = 10, 300
RECIPIENTS = 1000
QUESTIONS = 10


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * len(values)) - 1)]


def report(label: str, timings: list[float]) -> None:
    print(f"{label:62} median {statistics.median(timings):8.1f} ms   p95 {p95(timings):8.1f} ms")


def make_event(title: str, start: datetime.datetime, **fields):
    from essaim.events import services

    return services.event_create(
        actor=None,
        title=title,
        start=start,
        end=start + datetime.timedelta(hours=4),
        status="published",
        place_name="Salle des fêtes",
        registration_open=True,
        **fields,
    )


def add_participants(event, count: int, *, answers=()) -> None:
    """``count`` confirmed registrations (bulk: the set-up is not what is measured), with answers."""
    import secrets

    from essaim.events.models import Answer, Registration

    rows = [
        Registration(
            event=event,
            full_name=f"Personne {n}",
            search_name=f"personne {n}",
            email=f"p{event.pk}-{n}@exemple.fr",
            structure_name=f"Structure {n % 40}",
            status="confirmed",
            attendance="present" if n % 3 else "absent",
            token=secrets.token_urlsafe(32),
        )
        for n in range(count)
    ]
    Registration.objects.bulk_create(rows, batch_size=500)
    ids = list(event.registrations.values_list("pk", flat=True))
    Answer.objects.bulk_create(
        [Answer(registration_id=pk, question=q, value=v) for pk in ids for q, v in answers], batch_size=1000
    )


def bench_purge() -> list[float]:
    from essaim.events import privacy, questions
    from essaim.events.models import Event

    timings = []
    old = timezone.now() - datetime.timedelta(days=900)
    for run in range(RUNS):
        Event.objects.all().delete()
        for i in range(PURGE_EVENTS):
            event = make_event(f"Ancien {run}-{i}", old + datetime.timedelta(days=i))
            meal = questions.question_save(
                event=event, actor=None, label="Repas", kind="single_choice", choices="Standard\nVégétarien"
            )
            note = questions.question_save(event=event, actor=None, label="Remarque", kind="short_text")
            add_participants(event, PURGE_PARTICIPANTS, answers=[(meal, "Standard"), (note, "Rien")])
        started = time.perf_counter()
        count = privacy.events_retention_purge()
        timings.append((time.perf_counter() - started) * 1000)
        assert count == PURGE_EVENTS * PURGE_PARTICIPANTS, count
    return timings


def bench_message() -> list[float]:
    from essaim.events import messaging
    from essaim.events.models import Event, ParticipantMessage

    Event.objects.all().delete()
    event = make_event("Forum", timezone.now() + datetime.timedelta(days=20))
    add_participants(event, RECIPIENTS)
    timings = []
    for _ in range(RUNS):
        message = ParticipantMessage.objects.create(
            event=event, audience="confirmed", subject="Infos", body="Texte", recipients_count=RECIPIENTS
        )
        started = time.perf_counter()
        queued = messaging.message_queue_emails(message_id=message.pk, base_url="https://essaim.example.org")
        timings.append((time.perf_counter() - started) * 1000)
        assert queued == RECIPIENTS, queued
    return timings


def bench_reminders() -> list[float]:
    from essaim.events import messaging
    from essaim.events.models import Event, Registration

    Event.objects.all().delete()
    event = make_event("Café", timezone.now() + datetime.timedelta(hours=30))
    add_participants(event, RECIPIENTS)
    timings = []
    for _ in range(RUNS):
        Registration.objects.update(reminded_at=None)
        started = time.perf_counter()
        sent = messaging.reminders_send(base_url="https://essaim.example.org")
        timings.append((time.perf_counter() - started) * 1000)
        assert sent == RECIPIENTS, sent
    return timings


def bench_form() -> tuple[list[float], list[float]]:
    from essaim.events import questions
    from essaim.events.models import Event

    Event.objects.all().delete()
    event = make_event("Journée", timezone.now() + datetime.timedelta(days=20))
    fields = {}
    for i in range(QUESTIONS):
        kind = ("short_text", "single_choice", "multiple_choice", "yes_no", "long_text")[i % 5]
        question = questions.question_save(
            event=event, actor=None, label=f"Question {i}", kind=kind, choices="A\nB\nC", required=True
        )
        fields[f"question_{question.pk}"] = {"multiple_choice": ["A", "C"], "yes_no": "oui"}.get(kind, "A")
    client = Client()
    url = reverse("events:register", args=[event.slug])
    gets, posts = [], []
    for n in range(RUNS * 4):
        started = time.perf_counter()
        assert client.get(url).status_code == 200
        gets.append((time.perf_counter() - started) * 1000)
        data = {"full_name": f"Personne {n}", "email": f"form{n}@exemple.fr", "consent": "on", **fields}
        started = time.perf_counter()
        response = client.post(url, data)
        posts.append((time.perf_counter() - started) * 1000)
        assert "Inscription confirmée" in response.content.decode(), response.content.decode()[:2000]
    return gets, posts


def main() -> int:
    postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    if postgres:
        create_postgres_database()
    try:
        call_command("migrate", verbosity=0)
        print(
            f"Base : {'PostgreSQL' if postgres else 'SQLite'} ; {RUNS} mesures par ligne ; "
            f"charge {os.getloadavg()[0]:.1f}"
        )
        report(f"Purge : {PURGE_EVENTS} événements x {PURGE_PARTICIPANTS} participants", bench_purge())
        report(f"Message à {RECIPIENTS} participants (mise en file)", bench_message())
        report(f"Rappels de {RECIPIENTS} participants (avec .ics)", bench_reminders())
        gets, posts = bench_form()
        report(f"Formulaire d'inscription, {QUESTIONS} questions (GET)", gets)
        report(f"Formulaire d'inscription, {QUESTIONS} questions (POST)", posts)
    finally:
        if postgres:
            drop_postgres_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
