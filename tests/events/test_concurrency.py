"""No overbooking, ever: real concurrent registrations, each thread with its own database connection."""

import threading

import pytest
from django.db import connection, connections

from essaim.events import services
from essaim.events.models import Registration, RegistrationStatus
from tests.events.conftest import make_event

pytestmark = pytest.mark.django_db(transaction=True)


def _run_in_threads(count: int, target) -> list:
    """Start ``count`` threads together on ``target(i)``; return what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # reported to the test, which fails on it
            results[i] = exc
        finally:
            connections.close_all()  # each thread closes its own connection

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _in_memory_sqlite() -> bool:
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


@pytest.fixture
def real_connections():
    """Threads need their own connections to the test database: the test settings put SQLite's in a file
    (a shared in-memory database makes concurrent writers fail at once instead of waiting)."""
    assert not _in_memory_sqlite(), "les tests de concurrence demandent une base SQLite dans un fichier"


def test_concurrent_registrations_never_overbook(real_connections):
    event = make_event(capacity=5)

    def register(i):
        return services.registration_create(
            event=event, full_name=f"Personne {i}", email=f"p{i}@exemple.fr"
        ).status

    results = _run_in_threads(16, register)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert results.count(RegistrationStatus.CONFIRMED) == 5
    assert results.count(RegistrationStatus.WAITING) == 11
    assert event.registrations.holding().count() == 5


def test_concurrent_registrations_respect_category_quota_and_session_capacity(real_connections):
    event = make_event(capacity=100)
    category = services.category_add(event=event, label="Collectivité", quota=3)
    session = services.session_add(event=event, title="Visite", start=event.start, end=event.end, capacity=2)

    def register(i):
        sessions = [session] if i % 2 else []
        return services.registration_create(
            event=event, full_name=f"Élu {i}", email=f"e{i}@exemple.fr", category=category, sessions=sessions
        )

    results = _run_in_threads(10, register)

    assert [r for r in results if isinstance(r, Exception)] == []
    holding = Registration.objects.filter(event=event, status__in=["confirmed", "offered"])
    assert holding.count() == 3
    assert holding.filter(sessions=session).count() <= 2


def test_concurrent_cancellations_promote_each_waiting_person_once(real_connections):
    event = make_event(capacity=3)
    confirmed = [
        services.registration_create(event=event, full_name=f"Inscrit {i}", email=f"i{i}@exemple.fr")
        for i in range(3)
    ]
    waiting = [
        services.registration_create(event=event, full_name=f"Attente {i}", email=f"a{i}@exemple.fr")
        for i in range(5)
    ]
    assert {r.status for r in waiting} == {RegistrationStatus.WAITING}

    results = _run_in_threads(3, lambda i: services.registration_cancel(registration=confirmed[i]))

    assert [r for r in results if isinstance(r, Exception)] == []
    statuses = [Registration.objects.get(pk=r.pk).status for r in waiting]
    assert statuses == ["offered", "offered", "offered", "waiting", "waiting"]
    assert event.registrations.holding().count() == 3
