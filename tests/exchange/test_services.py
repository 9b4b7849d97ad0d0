import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from essaim.core.models import AuditLogEntry
from essaim.exchange import services
from essaim.exchange.models import Listing, ListingStatus
from essaim.exchange.tasks import expire_listings
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db


def test_create_is_a_draft_with_normalised_title_and_audit(people, themes):
    listing = services.listing_create(
        structure=people["structure"],
        actor=people["member"],
        direction="need",
        kind="premises",
        title="Salle pour réunions",
        themes=[themes["culture"]],
    )

    assert listing.status == ListingStatus.DRAFT
    assert listing.search_title == "salle pour reunions"
    assert listing.created_by == people["member"]
    assert list(listing.themes.all()) == [themes["culture"]]
    assert AuditLogEntry.objects.filter(verb="exchange.listing.created", object_id=str(listing.pk)).exists()


def test_publish_sets_expiry_three_months_later(people):
    listing = make_listing(structure=people["structure"], publish=False)
    now = timezone.make_aware(datetime.datetime(2026, 11, 30, 10))

    listing = services.listing_publish(listing=listing, actor=people["member"], now=now)

    assert listing.status == ListingStatus.PUBLISHED
    assert listing.published_at == now
    assert listing.expires_at == timezone.make_aware(datetime.datetime(2027, 2, 28, 10))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"available_from": datetime.date(2027, 3, 1), "available_until": datetime.date(2027, 2, 1)}, None),
        ({"title": ""}, "title"),
        ({"kind": "spaceship"}, "kind"),
    ],
)
def test_bad_input_is_refused_in_french(people, fields, field):
    arguments = {"direction": "offer", "kind": "equipment", "title": "Remorque", **fields}
    with pytest.raises(ValidationError) as exc:
        services.listing_create(structure=people["structure"], actor=None, **arguments)

    assert not Listing.objects.exists()
    if field:
        assert field in exc.value.message_dict
    else:
        assert "La date de fin de disponibilité précède la date de début." in exc.value.messages


def test_price_is_dropped_unless_paid(people):
    free = make_listing(structure=people["structure"], terms="free", price_cents=500)
    paid = make_listing(structure=people["structure"], terms="paid", price_cents=1250)

    assert free.price_cents is None
    assert paid.price_cents == 1250
    assert paid.price_euros == "12,50\xa0€"


@pytest.mark.parametrize(
    ("cents", "label"),
    [(None, ""), (1250, "12,50\xa0€"), (1_200_000, "12\xa0000\xa0€"), (123_450, "1\xa0234,50\xa0€")],
)
def test_amounts_are_written_the_french_way(cents, label):
    from essaim.exchange.models import format_euros

    assert format_euros(cents) == label


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"terms": "free", "price_cents": 100}, "exchange_listing_price_only_when_paid"),
        (
            {"available_from": datetime.date(2027, 3, 2), "available_until": datetime.date(2027, 3, 1)},
            "exchange_listing_window_ordered",
        ),
    ],
)
def test_database_constraints_hold(fields, name):
    structure = StructureFactory()
    with pytest.raises(IntegrityError, match=name), transaction.atomic():
        Listing.objects.create(structure=structure, direction="offer", kind="equipment", title="x", **fields)


def test_update_changes_fields_and_themes(people, themes):
    listing = make_listing(structure=people["structure"])

    listing = services.listing_update(
        listing=listing, actor=people["member"], title="Camion réfrigéré", themes=[themes["alimentation"]]
    )

    listing.refresh_from_db()
    assert listing.title == "Camion réfrigéré"
    assert listing.search_title == "camion refrigere"
    assert [t.slug for t in listing.themes.all()] == ["alimentation"]


def test_update_refuses_unknown_fields_and_closed_listings(people):
    listing = make_listing(structure=people["structure"])
    with pytest.raises(ValidationError, match="Champs inconnus"):
        services.listing_update(listing=listing, actor=None, status="fulfilled")

    services.listing_fulfil(listing=listing, actor=None)
    with pytest.raises(ValidationError, match="close"):
        services.listing_update(listing=listing, actor=None, title="Autre")


def test_transitions_follow_the_lifecycle(people):
    draft = make_listing(structure=people["structure"], publish=False)
    with pytest.raises(ValidationError):
        services.listing_fulfil(listing=draft, actor=None)

    withdrawn = services.listing_withdraw(listing=draft, actor=people["member"])
    assert withdrawn.status == ListingStatus.WITHDRAWN
    with pytest.raises(ValidationError):
        services.listing_publish(listing=withdrawn, actor=None)
    assert AuditLogEntry.objects.filter(verb="exchange.listing.withdrawn").count() == 1


def test_expiry_task_closes_listings_past_their_date(people):
    old = make_listing(structure=people["structure"], title="Ancienne")
    fresh = make_listing(structure=people["structure"], title="Récente")
    Listing.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))

    assert list(Listing.objects.listed()) == [fresh]
    expire_listings()

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == ListingStatus.EXPIRED
    assert fresh.status == ListingStatus.PUBLISHED
    assert services.listings_expire() == 0
    assert AuditLogEntry.objects.filter(verb="exchange.listings.expired", data__count=1).exists()
