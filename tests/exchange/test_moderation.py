"""Abuse handling: reports, hiding and showing a listing, who sees what, audit log."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from essaim.core.models import AuditLogEntry
from essaim.exchange import moderation
from essaim.exchange.models import Listing, ListingReport, ListingStatus
from tests.exchange.conftest import make_listing
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(people):
    return make_listing(structure=people["structure"], title="Camion à prêter")


# -- Services ------------------------------------------------------------------------------------------------


def test_report_create_validates_and_refuses_a_second_open_report(listing, people):
    reporter = people["outsider"]
    report = moderation.report_create(listing=listing, reporter=reporter, reason="spam", text="  Pub  ")
    assert (report.status, report.text) == ("open", "Pub")
    assert AuditLogEntry.objects.filter(verb="exchange.listing.reported", object_id=str(listing.pk)).exists()

    with pytest.raises(ValidationError) as error:
        moderation.report_create(listing=listing, reporter=reporter, reason="fraud")
    assert "déjà signalé" in str(error.value)
    with pytest.raises(ValidationError):
        moderation.report_create(listing=listing, reporter=UserFactory(), reason="nonsense")
    with pytest.raises(ValidationError) as error:
        moderation.report_create(listing=listing, reporter=UserFactory(), reason="other", text="")
    assert "Précisez" in str(error.value)
    assert ListingReport.objects.count() == 1


def test_hide_resolves_reports_and_leaves_the_public_lists_but_not_statistics(listing, people):
    moderation.report_create(listing=listing, reporter=people["outsider"], reason="spam")

    hidden = moderation.listing_hide(listing=listing, actor=people["facilitator"], reason="Publicité")

    assert hidden.hidden_at is not None and hidden.status == ListingStatus.PUBLISHED
    assert not Listing.objects.listed().filter(pk=listing.pk).exists()
    assert Listing.objects.published().filter(pk=listing.pk).exists()  # still counted
    report = ListingReport.objects.get()
    assert report.status == "resolved" and "Publicité" in report.resolution
    assert report.resolved_by == people["facilitator"]
    assert AuditLogEntry.objects.filter(verb="exchange.listing.hidden").exists()
    with pytest.raises(ValidationError):
        moderation.listing_hide(listing=listing, actor=people["facilitator"], reason="Encore")
    # A new report can be made once the first one is closed.
    moderation.report_create(listing=listing, reporter=people["outsider"], reason="spam")

    moderation.listing_unhide(listing=listing, actor=people["facilitator"])
    assert Listing.objects.listed().filter(pk=listing.pk).exists()
    assert AuditLogEntry.objects.filter(verb="exchange.listing.unhidden").exists()
    with pytest.raises(ValidationError):
        moderation.listing_unhide(listing=listing, actor=people["facilitator"])


def test_hide_needs_a_reason(listing, people):
    with pytest.raises(ValidationError):
        moderation.listing_hide(listing=listing, actor=people["facilitator"], reason="   ")
    assert Listing.objects.get(pk=listing.pk).hidden_at is None


def test_report_resolve(listing, people):
    report = moderation.report_create(listing=listing, reporter=people["outsider"], reason="misleading")
    moderation.report_resolve(report=report, actor=people["facilitator"])
    report.refresh_from_db()
    assert report.status == "resolved" and report.resolution == "Signalement classé sans suite."
    with pytest.raises(ValidationError):
        moderation.report_resolve(report=report, actor=people["facilitator"])


# -- Visibility ----------------------------------------------------------------------------------------------


def test_hidden_listing_is_404_to_the_public_and_visible_with_a_notice_to_its_members(
    client, listing, people
):
    moderation.listing_hide(listing=listing, actor=people["facilitator"], reason="Contenu trompeur")
    url = reverse("exchange:detail", args=[listing.pk])

    assert client.get(url).status_code == 404
    client.force_login(people["outsider"])
    assert client.get(url).status_code == 404
    assert (
        "Camion à prêter" not in client.get(reverse("exchange:list"), {"territoire": "tous"}).content.decode()
    )

    client.force_login(people["member"])
    page = client.get(url)
    assert page.status_code == 200
    assert "Annonce masquée" in page.content.decode() and "Contenu trompeur" in page.content.decode()

    client.force_login(people["facilitator"])
    page = client.get(url).content.decode()
    assert "Rendre l'annonce visible" in page


def test_visible_listing_has_no_hidden_notice(client, listing, people):
    client.force_login(people["member"])
    assert "Annonce masquée" not in client.get(reverse("exchange:detail", args=[listing.pk])).content.decode()


# -- Report view ---------------------------------------------------------------------------------------------


def test_report_link_and_form_for_signed_in_outsiders_only(client, listing, people):
    url = reverse("exchange:report", args=[listing.pk])
    detail = reverse("exchange:detail", args=[listing.pk])
    assert url not in client.get(detail).content.decode()
    assert client.get(url).status_code == 302  # login first

    client.force_login(people["member"])  # one does not report one's own structure's listing
    assert url not in client.get(detail).content.decode()
    assert client.get(url).status_code == 404

    client.force_login(people["outsider"])
    assert url in client.get(detail).content.decode()
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "fraud", "text": "Demande un virement"})
    assert response.status_code == 302
    report = ListingReport.objects.get()
    assert (report.reporter, report.reason) == (people["outsider"], "fraud")

    again = client.post(url, {"reason": "spam"})
    assert again.status_code == 200
    assert "déjà signalé" in again.content.decode()


def test_report_form_errors_are_french(client, listing, people):
    client.force_login(people["outsider"])
    response = client.post(reverse("exchange:report", args=[listing.pk]), {"reason": "other"})
    assert response.status_code == 200
    assert "Précisez" in response.content.decode()
    response = client.post(reverse("exchange:report", args=[listing.pk]), {"text": ""})
    assert response.context["form"].errors["reason"]


def test_reports_are_rate_limited(client, people, settings):
    client.force_login(people["outsider"])
    listings = [make_listing(structure=people["structure"], title=f"Annonce {n}") for n in range(11)]
    statuses = [
        client.post(reverse("exchange:report", args=[item.pk]), {"reason": "spam"}).status_code
        for item in listings
    ]
    assert statuses == [302] * 10 + [429]
    assert ListingReport.objects.count() == 10


def test_cannot_report_a_listing_one_cannot_see(client, people):
    draft = make_listing(structure=people["structure"], publish=False)
    client.force_login(people["outsider"])
    assert client.post(reverse("exchange:report", args=[draft.pk]), {"reason": "spam"}).status_code == 404


# -- Moderation page -----------------------------------------------------------------------------------------


def test_moderation_page_is_for_facilitators(client, listing, people):
    moderation.report_create(listing=listing, reporter=people["outsider"], reason="spam", text="Pub déguisée")
    url = reverse("exchange:moderation")
    assert client.get(url).status_code == 302
    for user in (people["member"], people["outsider"]):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(reverse("exchange:hide", args=[listing.pk]), {"reason": "x"}).status_code == 404
    assert Listing.objects.get(pk=listing.pk).hidden_at is None

    client.force_login(people["facilitator"])
    page = client.get(url)
    assert page.status_code == 200
    assert "Pub déguisée" in page.content.decode() and "Camion à prêter" in page.content.decode()


def test_facilitator_hides_unhides_and_resolves_from_the_web(client, listing, people):
    report = moderation.report_create(listing=listing, reporter=people["outsider"], reason="spam")
    client.force_login(people["facilitator"])

    response = client.post(reverse("exchange:hide", args=[listing.pk]), {"reason": ""})
    assert response.status_code == 302
    assert Listing.objects.get(pk=listing.pk).hidden_at is None

    client.post(reverse("exchange:hide", args=[listing.pk]), {"reason": "Spam avéré", "retour": "annonce"})
    listing.refresh_from_db()
    assert listing.hidden_reason == "Spam avéré" and listing.hidden_by == people["facilitator"]
    page = client.get(reverse("exchange:moderation")).content.decode()
    assert "Spam avéré" in page

    client.post(reverse("exchange:unhide", args=[listing.pk]))
    assert Listing.objects.get(pk=listing.pk).hidden_at is None

    other = moderation.report_create(listing=listing, reporter=UserFactory(), reason="misleading")
    client.post(reverse("exchange:report_resolve", args=[other.pk]), {"resolution": "Vérifié : exact."})
    other.refresh_from_db()
    assert other.status == "resolved" and other.resolution == "Vérifié : exact."
    report.refresh_from_db()
    assert report.status == "resolved"


def test_facilitator_hub_links_moderation_and_shared_jobs(client, people):
    client.force_login(people["facilitator"])
    page = client.get(reverse("actors:manage")).content.decode()
    assert f'href="{reverse("exchange:moderation")}"' in page
    assert f'href="{reverse("exchange:shared_job_groups")}"' in page
