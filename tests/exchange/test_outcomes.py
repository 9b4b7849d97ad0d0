"""What came of closed listings, and the statistics page of a territory."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from essaim.actors.models import Membership
from essaim.core.models import AuditLogEntry
from essaim.exchange import contacts, services
from essaim.exchange.models import Listing, ListingStatus, Match, Outcome
from essaim.exchange.outcomes import outcome_record, outcome_stats
from essaim.territories.models import Perimeter, PerimeterCommune
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory, UserFactory


@pytest.fixture
def closed(db, people):
    listing = make_listing(structure=people["structure"], title="Bus de 9 places")
    return services.listing_fulfil(listing=listing, actor=people["member"])


def test_outcome_is_recorded_and_corrected_with_an_audit_entry(closed, people):
    partner = StructureFactory(name="Totocar")
    outcome = outcome_record(
        listing=closed,
        actor=people["member"],
        kind="loan_gift",
        amount_euros=300,
        hours=12,
        counterpart_structure=partner,
    )
    assert (outcome.kind, outcome.amount_euros, outcome.hours, outcome.counterpart_structure) == (
        "loan_gift",
        300,
        12,
        partner,
    )
    outcome_record(listing=closed, actor=people["member"], kind="cooperation", amount_euros=500)
    outcome = Outcome.objects.get()
    assert (outcome.kind, outcome.amount_euros, outcome.hours) == ("cooperation", 500, None)
    verbs = list(
        AuditLogEntry.objects.filter(verb__startswith="exchange.outcome").values_list("verb", flat=True)
    )
    assert sorted(verbs) == ["exchange.outcome.recorded", "exchange.outcome.updated"]


def test_outcome_is_refused_for_an_open_listing_and_inconsistent_figures(db, people, closed):
    open_listing = make_listing(structure=people["structure"])
    with pytest.raises(ValidationError, match="une fois l'annonce close"):
        outcome_record(listing=open_listing, actor=None, kind="purchase")
    with pytest.raises(ValidationError, match="ni montant ni heures"):
        outcome_record(listing=closed, actor=None, kind="nothing", amount_euros=10)
    with pytest.raises(ValidationError, match="pas un choix valide"):
        outcome_record(listing=closed, actor=None, kind="miracle")
    with pytest.raises(ValidationError, match="autre structure"):
        outcome_record(listing=closed, actor=None, kind="purchase", counterpart_structure=people["structure"])
    assert not Outcome.objects.exists()


def test_listing_page_asks_the_poster_what_came_of_it(client, closed, people):
    detail = reverse("exchange:detail", args=[closed.pk])
    client.force_login(people["member"])
    assert "Qu&#x27;est-il ressorti de cette annonce" in client.get(detail).content.decode()
    response = client.post(
        reverse("exchange:outcome", args=[closed.pk]),
        {"kind": "purchase", "amount_euros": "1200", "hours": ""},
    )
    assert response.status_code == 302
    page = client.get(detail).content.decode()
    assert "Un achat" in page and "environ 1\xa0200&nbsp;€" in page


def test_outcome_form_errors_are_french(client, closed, people):
    client.force_login(people["member"])
    response = client.post(reverse("exchange:outcome", args=[closed.pk]), {"amount_euros": "beaucoup"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Choisissez ce qu&#x27;il est ressorti de l&#x27;annonce." in page
    assert "Saisissez un nombre entier d&#x27;euros." in page


def test_outcome_view_is_for_the_listings_structure_and_closed_listings(client, closed, people):
    url = reverse("exchange:outcome", args=[closed.pk])
    client.force_login(people["outsider"])
    assert client.get(url).status_code == 404
    client.force_login(people["member"])
    assert client.get(url).status_code == 200
    open_listing = make_listing(structure=people["structure"])
    assert client.get(reverse("exchange:outcome", args=[open_listing.pk])).status_code == 404


def test_counterpart_choices_are_the_structures_of_the_listings_matches(db, people):
    listing = make_listing(structure=people["structure"])
    writer = UserFactory()
    other = StructureFactory(name="Garage solidaire")
    Membership.objects.create(user=writer, structure=other)
    contacts.contact_send(
        listing=listing, sender_structure=other, actor=writer, body="Bonjour, nous sommes intéressés."
    )
    from essaim.exchange.outcomes import outcome_counterparts

    assert list(outcome_counterparts(listing)) == [other]


@pytest.fixture
def territory(db, communes, people):
    """A perimeter holding Caussade and Montauban (not Nontron), with listings, matches and outcomes."""
    perimeter = Perimeter.objects.create(name="Pays Midi-Quercy", slug="midi-quercy", kind="custom")
    for name in ("Caussade", "Montauban"):
        PerimeterCommune.objects.create(perimeter=perimeter, commune=communes[name])
    inside = people["structure"]
    inside.commune = communes["Caussade"]
    inside.save(update_fields=["commune"])
    partner = StructureFactory(commune=communes["Montauban"])
    outside = StructureFactory(commune=communes["Nontron"])

    bus = make_listing(structure=inside, kind="equipment", title="Bus")
    salle = make_listing(structure=inside, kind="premises", direction="need", title="Salle")
    compta = make_listing(structure=partner, kind="shared_job", direction="need", title="Comptable")
    make_listing(structure=partner, kind="equipment", title="Remorque", publish=False)
    far = make_listing(structure=outside, kind="equipment", title="Tracteur")
    services.listing_fulfil(listing=bus, actor=None)
    services.listing_withdraw(listing=salle, actor=None)
    Listing.objects.filter(pk=compta.pk).update(status=ListingStatus.EXPIRED)
    services.listing_fulfil(listing=far, actor=None)

    Match.objects.create(listing=bus, listing_structure=inside, counterpart_structure=partner, status="done")
    Match.objects.create(
        listing=compta, listing_structure=partner, counterpart_structure=inside, status="agreed"
    )
    Match.objects.create(listing=far, listing_structure=outside, counterpart_structure=inside, status="done")
    outcome_record(listing=bus, actor=None, kind="loan_gift", amount_euros=800, hours=10)
    outcome_record(listing=salle, actor=None, kind="nothing")
    outcome_record(listing=far, actor=None, kind="loan_gift", amount_euros=5000, hours=100)
    return perimeter


def _row(rows, label):
    return next(row for row in rows if row["label"] == label)


def test_stats_of_a_territory_count_listings_matches_and_sum_outcomes(territory):
    stats = outcome_stats(perimeter=territory)
    statuses = stats["statuses"]
    equipment = _row(stats["listing_rows"], "Équipement ou matériel")
    assert equipment["counts"][statuses.index("Brouillon")] == 1
    assert equipment["counts"][statuses.index("Satisfaite")] == 1  # the far tractor is outside
    assert equipment["total"] == 2
    assert _row(stats["listing_rows"], "Emploi partagé")["counts"][statuses.index("Expirée")] == 1
    assert stats["listing_total"] == 4
    assert _row(stats["match_rows"], "Réalisée")["count"] == 1
    assert _row(stats["match_rows"], "Accord trouvé")["count"] == 1
    assert stats["match_total"] == 2
    loans = _row(stats["outcome_rows"], "Un prêt ou un don")
    assert (loans["count"], loans["amount"], loans["hours"]) == (1, 800, 10)
    assert (stats["outcome_total"], stats["amount_total"], stats["hours_total"]) == (2, 800, 10)

    everywhere = outcome_stats()
    assert (everywhere["listing_total"], everywhere["match_total"], everywhere["amount_total"]) == (
        5,
        3,
        5800,
    )


def test_stats_page_is_for_facilitators(client, territory, people):
    url = reverse("exchange:outcome_stats") + "?territoire=midi-quercy"
    client.force_login(people["member"])
    assert client.get(url).status_code == 404
    client.force_login(people["facilitator"])
    page = client.get(url).content.decode()
    assert "Bilan des offres et besoins — Pays Midi-Quercy" in page
    assert "800&nbsp;€" in page and "10&nbsp;h" in page
    assert "5\xa0800" not in page
    # Thousands grouped as French typography wants (non-breaking space).
    assert (
        "5\xa0800&nbsp;€"
        in client.get(reverse("exchange:outcome_stats") + "?territoire=tous").content.decode()
    )
