"""Time to build the alert emails of offers and needs, on a throw-away database.

    .venv/bin/python benchmarks/exchange_alerts.py              # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5433/essaim_bench_alerts \
        .venv/bin/python benchmarks/exchange_alerts.py

Data (bulk inserts, seeded random): 600 communes, 20,000 structures, 200,000 listed listings published over
the last 90 days (one or two themes each, searchable titles), 5,000 people with one alert each, all due:
daily alerts (60 %) looked last a day ago, weekly ones a week ago; criteria drawn at random (direction,
kind, themes, words, a commune and a radius). Measures one run of ``alerts_send`` (the periodic task):
matching, rendering and queueing the 5,000 personalised emails. Target: <= 60 s. On PostgreSQL the database
named in DATABASE_URL is created and dropped (its name must start with "essaim_bench").
"""

import datetime
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")
_tmp = tempfile.TemporaryDirectory()
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp.name}/bench.sqlite3")
os.environ["ESSAIM_VAR_DIR"] = _tmp.name

import django  # noqa: E402

django.setup()

from bench_db import create_postgres_database, drop_postgres_database  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

COMMUNES = 600
# Smaller runs for profiling: BENCH_LISTINGS=50000 BENCH_ALERTS=1000 BENCH_PROFILE=1.
STRUCTURES = 20_000
LISTINGS = int(os.environ.get("BENCH_LISTINGS", "200000"))
ALERTS = int(os.environ.get("BENCH_ALERTS", "5000"))
TARGET_SECONDS = 60
WORDS = [
    "salle",
    "local",
    "bureau",
    "camion",
    "minibus",
    "vélo",
    "paniers",
    "bio",
    "légumes",
    "comptable",
    "comptabilité",
    "graphiste",
    "formation",
    "atelier",
    "cuisine",
    "frigo",
    "chambre",
    "froide",
    "imprimante",
    "vidéoprojecteur",
    "jardin",
    "outils",
    "bénévoles",
    "animation",
    "coworking",
    "stockage",
    "entrepôt",
    "traiteur",
    "épicerie",
    "menuiserie",
    "couture",
    "réparation",
]


def load(now: datetime.datetime) -> None:
    from essaim.accounts.models import User
    from essaim.actors.models import Structure, Theme
    from essaim.core.text import normalize
    from essaim.exchange.models import Alert, Direction, Kind, Listing, ListingStatus
    from essaim.exchange.search import listing_document
    from essaim.territories.models import Commune, Departement, Region

    rng = random.Random(42)
    began = time.perf_counter()
    with transaction.atomic():
        region = Region.objects.create(code="76", name="Occitanie")
        departement = Departement.objects.create(code="82", name="Tarn-et-Garonne", region=region)
        Commune.objects.bulk_create(
            Commune(
                code=f"9{index:04d}",
                name=f"Commune {index}",
                search_name=f"commune {index}",
                departement=departement,
                latitude=43.5 + rng.random() * 1.5,
                longitude=0.8 + rng.random() * 1.8,
            )
            for index in range(COMMUNES)
        )
        communes = list(Commune.objects.values_list("pk", flat=True))
        themes = [
            Theme.objects.get_or_create(slug=f"theme-{n}", defaults={"label": f"Thème {n}"})[0].pk
            for n in range(12)
        ]
        Structure.objects.bulk_create(
            (
                Structure(
                    name=f"Structure {index}",
                    slug=f"structure-{index}",
                    search_name=f"structure {index}",
                    family="association",
                    status="published",
                    commune_id=rng.choice(communes),
                )
                for index in range(STRUCTURES)
            ),
            batch_size=2000,
        )
        structures = list(Structure.objects.values_list("pk", flat=True))
        kinds, directions = Kind.values, Direction.values
        batch = []
        for index in range(LISTINGS):
            title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {index}"
            published = now - datetime.timedelta(seconds=rng.randrange(90 * 86400))
            batch.append(
                Listing(
                    structure_id=rng.choice(structures),
                    direction=rng.choice(directions),
                    kind=rng.choice(kinds),
                    title=title,
                    search_title=normalize(title),
                    search_document=listing_document(title=title, vendor=connection.vendor),
                    status=ListingStatus.PUBLISHED,
                    published_at=published,
                    expires_at=published + datetime.timedelta(days=92),
                )
            )
            if len(batch) == 5000:
                Listing.objects.bulk_create(batch)
                batch = []
        Listing.objects.bulk_create(batch)
        links = Listing.themes.through
        links.objects.bulk_create(
            (
                links(listing_id=pk, theme_id=theme)
                for pk in Listing.objects.values_list("pk", flat=True).iterator(chunk_size=10000)
                for theme in rng.sample(themes, rng.choice((1, 1, 2)))
            ),
            batch_size=5000,
        )
        User.objects.bulk_create(
            (
                User(email=f"veille{index}@exemple.fr", full_name=f"Personne {index}", password="!")
                for index in range(ALERTS)
            ),
            batch_size=2000,
        )
        users = list(User.objects.values_list("pk", flat=True))
        alerts = []
        for user_id in users:
            daily = rng.random() < 0.6
            alerts.append(
                Alert(
                    user_id=user_id,
                    direction=rng.choice(("", "", *directions)),
                    kind=rng.choice(("", "", "", *kinds)),
                    text=rng.choice(WORDS) if rng.random() < 0.2 else "",
                    commune_id=rng.choice(communes) if rng.random() < 0.5 else None,
                    radius_km=rng.choice((10, 20, 30, 50)),
                    frequency="daily" if daily else "weekly",
                    last_checked_at=now - datetime.timedelta(days=1 if daily else 7),
                )
            )
        Alert.objects.bulk_create(alerts, batch_size=2000)
        alert_links = Alert.themes.through
        alert_links.objects.bulk_create(
            alert_links(alert_id=pk, theme_id=theme)
            for pk in Alert.objects.values_list("pk", flat=True)
            if rng.random() < 0.3
            for theme in rng.sample(themes, rng.choice((1, 2)))
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"Données : {LISTINGS:,} annonces, {STRUCTURES:,} structures, {ALERTS:,} alertes "
        f"(chargées en {time.perf_counter() - began:.0f} s)".replace(",", "\u202f")
    )


def main() -> int:
    postgres = connection.vendor == "postgresql"
    if postgres:
        create_postgres_database()
    try:
        call_command("migrate", verbosity=0)
        print(f"Base : {connection.vendor} ; charge : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        now = timezone.now()
        load(now)

        from essaim.core.models import OutgoingEmail
        from essaim.exchange.alerts import alerts_send

        profile = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        began, began_cpu = time.perf_counter(), time.process_time()
        run = alerts_send(now=now)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - began_cpu
        if profile is not None:
            import pstats

            profile.disable()
            pstats.Stats(profile).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(
                30
            )
        emails = OutgoingEmail.objects.count()
        print(
            f"alerts_send : {run.due} alertes dues, {run.emails} courriels construits et mis en file "
            f"({emails} en base, {run.listings} annonces correspondantes au total, 30 au plus citées "
            f"par courriel, {run.failed} échecs) en {elapsed:.1f} s "
            f"({elapsed / max(run.due, 1) * 1000:.1f} ms par alerte ; objectif ≤ {TARGET_SECONDS} s) ; "
            f"temps processeur de ce processus : {cpu:.1f} s"
        )
        print(f"Charge à la fin : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        return 0 if elapsed <= TARGET_SECONDS and run.failed == 0 else 1
    finally:
        if postgres:
            drop_postgres_database()


if __name__ == "__main__":
    sys.exit(main())
