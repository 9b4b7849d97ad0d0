"""The demo holds the seed events; their reports reproduce the seeds' figures."""

import pytest

from essaim.demo.services import demo_load
from essaim.events.models import Answer, Event, Programme, Registration
from essaim.events.questions import question_tallies
from essaim.events.reports import event_report, programme_report
from tests.demo.cog_sample import load_cog_sample

pytestmark = pytest.mark.django_db


def report_of(slug):
    return event_report(Event.objects.get(slug=slug))


def test_demo_events_reproduce_the_seed_figures_and_load_idempotently():
    """One test: loading the whole demo is slow, so it is loaded once (then again, for idempotence)."""
    load_cog_sample()
    demo_load()

    # Mois de l'ESS 2014 in Midi-Quercy (seed 000): four dates, 38, 21 (3 elected), 34 and about 40 present.
    programme = Programme.objects.get(slug="mois-ess-2014-pays-midi-quercy")
    report = programme_report(programme)
    assert [present for _, _, present in report.per_event] == [38, 21, 34, 40]
    assert report.present == 38 + 21 + 34 + 40
    assert report_of("mois-ess-2014-collectivites-et-ess").elected_present == 3

    # Périgord Vert bouillon (seed 001): 50 participants, 21 structures, 7 partners.
    bouillon = report_of("bouillon-de-territoire-perigord-vert-2016")
    assert (bouillon.present, bouillon.structures_count, bouillon.partners_count) == (50, 21, 7)

    # Occitanie club day (seed 002): 60 participants over two visits and two parallel workshops.
    club = Event.objects.get(slug="club-collectivites-ess-occitanie-2023")
    assert event_report(club).present == 60
    assert sorted(session.registrations.count() for session in club.sessions.all()) == [30, 30, 30, 30]
    for registration in club.registrations.prefetch_related("sessions"):
        starts = [session.start for session in registration.sessions.all()]
        assert len(starts) == len(set(starts)) == 2  # one session per time slot

    # The club day's custom question, answered by most, and two people on its public list.
    (tally,) = question_tallies(club)
    assert (tally.counts, tally.answered) == ([("oui", 40), ("non", 10)], 50)
    assert club.registrations.filter(public_listing=True).count() == 2

    before = (Event.objects.count(), Registration.objects.count(), Answer.objects.count())
    demo_load()
    assert (Event.objects.count(), Registration.objects.count(), Answer.objects.count()) == before
