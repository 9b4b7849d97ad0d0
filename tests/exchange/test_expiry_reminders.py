"""Listings expire three months after publication: their posters are told a week before, once, and can
extend them for three more months."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from essaim.core.models import AuditLogEntry, OutgoingEmail
from essaim.exchange import services
from essaim.exchange.models import Listing
from essaim.exchange.tasks import remind_expiring_listings
from tests.exchange.conftest import make_listing

pytestmark = pytest.mark.django_db


def _published_days_ago(people, days: int, **fields) -> Listing:
    listing = make_listing(structure=people["structure"], publish=False, **fields)
    return services.listing_publish(
        listing=listing, actor=None, now=timezone.now() - datetime.timedelta(days=days)
    )


def test_posters_are_reminded_once_a_week_before_expiry(people):
    soon = _published_days_ago(people, 88, title="Salle de réunion")  # expires in 2 or 3 days
    later = _published_days_ago(people, 30, title="Camion frigorifique")
    withdrawn = _published_days_ago(people, 88, title="Vidéoprojecteur")
    services.listing_withdraw(listing=withdrawn, actor=None)

    remind_expiring_listings()

    message = OutgoingEmail.objects.get()
    assert message.bcc == [people["member"].email]
    assert "« Salle de réunion » expire bientôt" in message.subject
    assert reverse("exchange:detail", args=[soon.pk]) in message.body
    assert Listing.objects.get(pk=soon.pk).expiry_reminded_at is not None
    assert Listing.objects.get(pk=later.pk).expiry_reminded_at is None
    assert AuditLogEntry.objects.filter(verb="exchange.listings.expiry_reminded").count() == 1

    remind_expiring_listings()
    assert OutgoingEmail.objects.count() == 1


def test_extending_pushes_expiry_three_months_and_rearms_the_reminder(people):
    listing = _published_days_ago(people, 88)
    services.listings_remind_expiring()
    now = timezone.now()

    extended = services.listing_extend(listing=listing, actor=people["member"], now=now)

    assert extended.expires_at == services.default_expiry(now)
    assert extended.expiry_reminded_at is None
    assert AuditLogEntry.objects.filter(verb="exchange.listing.extended", actor=people["member"]).exists()
    # Three months on, a week before the new date, the poster hears again.
    assert services.listings_remind_expiring(now=extended.expires_at - datetime.timedelta(days=3)) == 1


def test_only_published_listings_can_be_extended(people):
    draft = make_listing(structure=people["structure"], publish=False)
    with pytest.raises(ValidationError) as error:
        services.listing_extend(listing=draft, actor=None)
    assert "Seule une annonce publiée" in str(error.value)


def test_members_extend_from_the_listing_page_others_get_404(client, people):
    listing = _published_days_ago(people, 88)
    url = reverse("exchange:status", args=[listing.pk])

    client.force_login(people["outsider"])
    assert client.post(url, {"action": "extend"}).status_code == 404

    client.force_login(people["member"])
    page = client.get(reverse("exchange:detail", args=[listing.pk])).content.decode()
    assert "Prolonger de 3 mois" in page
    response = client.post(url, {"action": "extend"}, follow=True)
    assert "Annonce prolongée de trois mois." in response.content.decode()
    assert Listing.objects.get(pk=listing.pk).expires_at > timezone.now() + datetime.timedelta(days=80)
