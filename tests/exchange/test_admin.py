"""The exchange models in the Django admin: listed and readable, never changed there (the services validate,
lock and audit every change)."""

import pytest
from django.urls import reverse

from essaim.exchange import alerts, moderation
from essaim.exchange.models import Alert, GroupPurchase, Listing, ListingReport
from tests.exchange.conftest import make_listing
from tests.exchange.test_group_purchases import purchase  # noqa: F401 (fixture)
from tests.factories import AdminFactory, UserFactory


@pytest.fixture
def admin_client(client, db):
    client.force_login(AdminFactory())
    return client


@pytest.mark.parametrize(
    "name", ["grouppurchase", "grouppurchaseparticipation", "sharedjobprofile", "alert", "listingreport"]
)
def test_changelists_are_registered(admin_client, name):
    assert admin_client.get(reverse(f"admin:exchange_{name}_changelist")).status_code == 200


def test_listing_group_purchase_alert_and_report_are_read_only(admin_client, purchase, people):  # noqa: F811
    listing = make_listing(structure=people["structure"], title="Local à partager")
    report = moderation.report_create(listing=listing, reporter=UserFactory(), reason="spam")
    alert = alerts.alert_create(user=people["member"], text="local")
    for model, obj in (
        (Listing, listing),
        (GroupPurchase, purchase),
        (Alert, alert),
        (ListingReport, report),
    ):
        url = reverse(f"admin:exchange_{model._meta.model_name}_change", args=[obj.pk])
        response = admin_client.get(url)
        assert response.status_code == 200
        assert response.context["has_change_permission"] is False
        assert admin_client.get(reverse(f"admin:exchange_{model._meta.model_name}_add")).status_code == 403
