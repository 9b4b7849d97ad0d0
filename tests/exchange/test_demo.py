import pytest

from essaim.demo.services import demo_load
from essaim.exchange.matching import listing_suggestions
from essaim.exchange.models import Listing
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
    # The shared accountant: two structures of Septfonds need a part-time post.
    assert Listing.objects.listed().filter(kind="shared_job", direction="need").count() == 2
    need = Listing.objects.get(structure__slug="la-rafistolerie")
    assert [s.listing.structure.slug for s in listing_suggestions(listing=need)] == ["le-periscope"]
