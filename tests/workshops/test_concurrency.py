"""Real threads racing for one participant's dots: the budget and the one-dot-per-colour rule hold."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from essaim.workshops import services
from essaim.workshops.models import Colour, Phase, Vote
from tests.factories import UserFactory
from tests.workshops.conftest import make_consultation

pytestmark = pytest.mark.django_db(transaction=True)


def race(calls) -> list:
    """Run each callable in its own thread, all released at once; returns their results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_red_dots_never_exceed_the_budget():
    consultation = make_consultation(phase=Phase.OPEN, items=[f"Besoin {i}" for i in range(6)], red_limit=2)
    user = UserFactory()
    voter = services.participant_for_user(consultation=consultation, user=user)
    items = list(consultation.items.all())

    results = race(
        [
            lambda item=item: services.vote_cast(participant=voter, item=item, colour=Colour.RED, actor=user)
            for item in items
        ]
    )

    assert Vote.objects.filter(participant=voter, colour=Colour.RED).count() == 2, results
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 4, results
    assert all("Plus de gommette rouge" in r.messages[0] for r in refused)


def test_concurrent_total_budget_holds_across_colours():
    consultation = make_consultation(
        phase=Phase.OPEN,
        items=[f"Besoin {i}" for i in range(3)],
        green_limit=None,
        red_limit=None,
        total_limit=3,
    )
    user = UserFactory()
    voter = services.participant_for_user(consultation=consultation, user=user)
    calls = [
        lambda item=item, colour=colour: services.vote_cast(
            participant=voter, item=item, colour=colour, actor=user
        )
        for item in consultation.items.all()
        for colour in Colour.values
    ]

    race(calls)

    assert Vote.objects.filter(participant=voter).count() == 3


def test_the_same_dot_sent_twice_at_once_is_counted_once():
    consultation = make_consultation(phase=Phase.OPEN)
    user = UserFactory()
    voter = services.participant_for_user(consultation=consultation, user=user)
    item = consultation.items.first()

    results = race(
        [lambda: services.vote_cast(participant=voter, item=item, colour=Colour.GREEN, actor=user)] * 4
    )

    assert Vote.objects.filter(participant=voter, item=item).count() == 1
    assert sum(isinstance(r, ValidationError) for r in results) == 3, results
