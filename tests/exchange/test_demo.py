from decimal import Decimal

import pytest

from essaim.demo.services import demo_load
from essaim.exchange import group_purchases as gp
from essaim.exchange.matching import listing_suggestions
from essaim.exchange.models import GroupPurchase, Listing
from essaim.exchange.shared_jobs import shared_job_groups
from tests.demo.cog_sample import load_cog_sample

pytestmark = pytest.mark.django_db


def test_demo_listings_are_published_matched_and_load_idempotently():
    """One test: loading the whole demo is slow."""
    load_cog_sample()
    first = demo_load()
    count = Listing.objects.count()
    second = demo_load()

    assert first.listings["created"] == count >= 5
    assert second.listings == {"created": 0, "unchanged": count}
    # The shared accountant: three structures of Septfonds each need 0.3 of a post, grouped into one.
    assert Listing.objects.listed().filter(kind="shared_job", direction="need").count() == 3
    [group] = shared_job_groups()
    assert group.total_fte == Decimal("0.9") and len(group.profiles) == 3
    # The organic baskets: three structures joined the group purchase; loading twice duplicates nothing.
    purchase = GroupPurchase.objects.get(listing__structure__slug="la-mijoteuse")
    assert purchase.participations.count() == 3
    assert gp.group_purchase_order(purchase).products[0].quantity == 22
    need = Listing.objects.get(structure__slug="la-rafistolerie")
    assert [s.listing.structure.slug for s in listing_suggestions(listing=need)] == ["le-periscope"]
