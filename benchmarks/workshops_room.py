"""Timings of the workshops' hot paths: the room display partial (polled every second by every projector)
and casting a dot (under the consultation row lock).

    DATABASE_URL=... .venv/bin/python manage.py migrate
    DATABASE_URL=... .venv/bin/python benchmarks/workshops_room.py [participants]

Builds a consultation of 6 needs, PARTICIPANTS participants with their dots and 100 post-its inside a
transaction that is rolled back at the end: the database is left unchanged.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from essaim.accounts.models import Role, User  # noqa: E402
from essaim.workshops import services  # noqa: E402
from essaim.workshops.models import Colour, Phase, Vote  # noqa: E402

ROUNDS = 100


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
    print(f"{label:52} median {statistics.median(timings):7.2f} ms   p95 {p95:7.2f} ms")


def main() -> int:
    participants = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    random.seed(42)
    try:
        with transaction.atomic():
            owner = User.objects.create_user("bench-atelier@exemple.fr", "x" * 12, role=Role.FACILITATOR)
            consultation = services.consultation_create(
                title="Banc d'essai", slug="bench-atelier", owner=owner, actor=None, red_limit=2
            )
            items = [
                services.item_create(consultation=consultation, title=f"Besoin {i}", actor=None)
                for i in range(6)
            ]
            services.consultation_set_phase(consultation=consultation, phase=Phase.OPEN, actor=None)
            codes = services.room_codes_generate(consultation=consultation, count=participants, actor=None)
            votes = []
            for participant in codes:
                votes += [
                    Vote(participant=participant, item=i, colour=Colour.GREEN)
                    for i in random.sample(items, 3)
                ]
                votes += [
                    Vote(participant=participant, item=i, colour=Colour.RED) for i in random.sample(items, 1)
                ]
            Vote.objects.bulk_create(votes)
            for n in range(100):
                services.comment_post(
                    item=random.choice(items), participant=codes[n], text=f"Post-it {n}", actor=None
                )
            print(f"Base : {connection.vendor}, {participants} participants, {len(votes)} gommettes\n")
            client = Client(HTTP_HOST="localhost")
            url = reverse("workshops:room", args=[consultation.slug])
            measure(
                "room partial (HX-Request, full request cycle)",
                lambda: client.get(url, headers={"HX-Request": "true"}),
            )
            spare = services.room_codes_generate(consultation=consultation, count=ROUNDS + 1, actor=None)
            it = iter(spare)
            measure(
                "vote_cast (lock, budget check, insert, audit)",
                lambda: services.vote_cast(
                    participant=next(it), item=items[0], colour=Colour.GREEN, actor=None
                ),
            )
            raise Rollback
    except Rollback:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
