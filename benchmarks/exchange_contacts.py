"""Speed of putting structures in touch and of their statistics, on a throw-away database.

    .venv/bin/python benchmarks/exchange_contacts.py              # SQLite file in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5433/essaim_bench_contacts .venv/bin/python \
        benchmarks/exchange_contacts.py

Data (bulk inserts, seeded random): 600 communes, half of them in one perimeter; 20,000 structures, each with
one member (20,000 people); 200,000 listings in every kind and state; 60,000 match records in every state, of
which 20,000 suggestions not yet notified; 20,000 outcomes with amounts and hours. Measures:

- one run of ``match_digests_send`` (the morning task): one email per person concerned, rendered and queued;
- ``outcome_stats`` of the perimeter and of everywhere (the facilitators' *bilan* page), median and p95;
- ``contact_send`` (« Entrer en relation »: match, message, audit, queued email), median and p95.

On PostgreSQL the database named in DATABASE_URL is created and dropped (its name must start with
"essaim_bench").
"""

import datetime
import os
import random
import statistics
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
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

settings.DEBUG = False  # the development settings log every query

COMMUNES = 600
STRUCTURES = 20_000
LISTINGS = 200_000
MATCHES = 60_000
NEW_SUGGESTIONS = 20_000
OUTCOMES = 20_000
RUNS = 20


def load(now: datetime.datetime):
    from essaim.accounts.models import User
    from essaim.actors.models import Membership, Structure
    from essaim.exchange.models import (
        OPEN_MATCH_STATUSES,
        Direction,
        Kind,
        Listing,
        ListingStatus,
        Match,
        MatchStatus,
        Outcome,
        OutcomeKind,
    )
    from essaim.territories.models import Commune, Departement, Perimeter, PerimeterCommune, Region

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
        perimeter = Perimeter.objects.create(name="Pays de banc d'essai", slug="banc", kind="custom")
        PerimeterCommune.objects.bulk_create(
            PerimeterCommune(perimeter=perimeter, commune_id=pk) for pk in communes[: COMMUNES // 2]
        )
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
        User.objects.bulk_create(
            (
                User(email=f"membre{index}@exemple.fr", full_name=f"Personne {index}", password="!")
                for index in range(STRUCTURES)
            ),
            batch_size=2000,
        )
        users = list(User.objects.values_list("pk", flat=True))
        Membership.objects.bulk_create(
            (Membership(user_id=u, structure_id=s) for u, s in zip(users, structures, strict=True)),
            batch_size=5000,
        )
        statuses = [
            *[ListingStatus.PUBLISHED] * 6,
            ListingStatus.FULFILLED,
            ListingStatus.WITHDRAWN,
            ListingStatus.EXPIRED,
            ListingStatus.DRAFT,
        ]
        batch = []
        for index in range(LISTINGS):
            published = now - datetime.timedelta(seconds=rng.randrange(90 * 86400))
            batch.append(
                Listing(
                    structure_id=rng.choice(structures),
                    direction=rng.choice(Direction.values),
                    kind=rng.choice(Kind.values),
                    title=f"Annonce {index}",
                    search_title=f"annonce {index}",
                    status=rng.choice(statuses),
                    published_at=published,
                    expires_at=published + datetime.timedelta(days=92),
                )
            )
            if len(batch) == 5000:
                Listing.objects.bulk_create(batch)
                batch = []
        Listing.objects.bulk_create(batch)
        listings = list(Listing.objects.values_list("pk", "structure_id", "status"))
        matches, seen = [], set()
        while len(matches) < MATCHES:
            pk, owner, _ = rng.choice(listings)
            other = rng.choice(structures)
            if other == owner or (pk, other) in seen:
                continue
            seen.add((pk, other))
            new = len(matches) < NEW_SUGGESTIONS
            status = MatchStatus.SUGGESTED if new else rng.choice(MatchStatus.values)
            matches.append(
                Match(
                    listing_id=pk,
                    listing_structure_id=owner,
                    counterpart_structure_id=other,
                    status=status,
                    score=8.0,
                    reasons=["même type : service", "même thème : culture", "à 12 km"],
                    decline_reason="Trouvé ailleurs" if status == MatchStatus.DECLINED else "",
                    digest_sent_at=None if new else now,
                )
            )
        assert all(m.status in OPEN_MATCH_STATUSES or m.status in ("done", "declined") for m in matches)
        Match.objects.bulk_create(matches, batch_size=5000)
        closed = [pk for pk, _, status in listings if status in ("fulfilled", "withdrawn", "expired")]
        outcomes = []
        for pk in rng.sample(closed, min(OUTCOMES, len(closed))):
            kind = rng.choice(OutcomeKind.values)
            nothing = kind == OutcomeKind.NOTHING
            outcomes.append(
                Outcome(
                    listing_id=pk,
                    kind=kind,
                    amount_euros=None if nothing else rng.randrange(0, 5000),
                    hours=None if nothing else rng.randrange(0, 200),
                )
            )
        Outcome.objects.bulk_create(outcomes, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    what = (
        f"{LISTINGS:_} annonces, {STRUCTURES:_} structures et membres, {MATCHES:_} mises en relation",
        f"dont {NEW_SUGGESTIONS:_} suggestions nouvelles, {len(outcomes):_} résultats",
    )
    took = time.perf_counter() - began
    print(f"Données : {' '.join(what)} (chargées en {took:.0f} s)".replace("_", "\u202f"))
    return perimeter, [pk for pk, _, status in listings if status == "published"]


def report(label: str, timings: list[float]) -> None:
    timings = sorted(timings)
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    print(f"{label} : médiane {statistics.median(timings) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")


def main() -> int:
    from essaim.accounts.models import User
    from essaim.actors.models import Membership
    from essaim.core.models import OutgoingEmail
    from essaim.exchange.contacts import contact_send, match_digests_send
    from essaim.exchange.models import Listing
    from essaim.exchange.outcomes import outcome_stats

    postgres = connection.vendor == "postgresql"
    if postgres:
        create_postgres_database()
    try:
        call_command("migrate", verbosity=0)
        print(f"Base : {connection.vendor} ; charge : {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        now = timezone.now()
        perimeter, published = load(now)

        began = time.perf_counter()
        sent = match_digests_send(base_url="https://essaim.example.org")
        elapsed = time.perf_counter() - began
        print(f"Courriels de suggestions : {sent:_} courriels en {elapsed:.1f} s".replace("_", "\u202f"))
        OutgoingEmail.objects.all().delete()

        for label, where in (("Bilan du périmètre", perimeter), ("Bilan de tous les territoires", None)):
            timings = []
            for _ in range(RUNS):
                began = time.perf_counter()
                outcome_stats(perimeter=where)
                timings.append(time.perf_counter() - began)
            report(label, timings)

        rng = random.Random(7)
        memberships = list(Membership.objects.select_related("structure", "user")[:2000])
        timings = []
        for _ in range(RUNS * 5):
            listing = Listing.objects.select_related("structure").get(pk=rng.choice(published))
            membership = rng.choice(memberships)
            if membership.structure_id == listing.structure_id:
                continue
            began = time.perf_counter()
            contact_send(
                listing=listing,
                sender_structure=membership.structure,
                actor=User.objects.get(pk=membership.user_id),
                body="Bonjour, votre annonce nous intéresse : pouvons-nous en parler ?",
                site_url="https://essaim.example.org",
            )
            timings.append(time.perf_counter() - began)
        report("Entrer en relation (contact_send)", timings)
        print(f"Charge en fin de mesure : {os.getloadavg()[0]:.2f}")
    finally:
        if postgres:
            drop_postgres_database()
    return 0


if __name__ == "__main__":
    sys.exit(main())
