"""Offres & besoins in a real browser: a member publishes a need and sees a suggestion with its reasons;
axe-core on the list, listing and form pages."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from essaim.actors.models import Membership
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def member():
    structure = StructureFactory(name="Centre social")
    user = UserFactory()
    Membership.objects.create(user=user, structure=structure)
    return user


def test_publish_a_need_and_see_a_suggestion_with_reasons(page, live_server, member):
    make_listing(structure=StructureFactory(name="Tiers-lieu"), kind="premises", title="Salle de réunion")
    structure = member.memberships.get().structure
    log_in(page, live_server, member)
    page.goto(live_server.url + reverse("actors:detail", args=[structure.slug]))
    page.get_by_role("link", name="Publier une offre ou un besoin").click()

    page.get_by_label("Sens").select_option(label="Besoin")
    page.get_by_label("Type").select_option(label="Local ou espace")
    page.get_by_label("Titre").fill("Une salle pour notre réunion")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("button", name="Publier").click()

    expect(page.locator("#suggestions")).to_be_visible()
    suggestions = page.locator(".suggestions")
    expect(suggestions).to_contain_text("Salle de réunion")
    expect(suggestions).to_contain_text("mots en commun : reunion, salle")
    page.probe.assert_clean()


def test_axe_finds_no_serious_violation_on_exchange_pages(audit_page, axe_path, live_server, member):
    listing = make_listing(structure=member.memberships.get().structure, title="Remorque à prêter")
    log_in(audit_page, live_server, member)
    for url in (
        reverse("exchange:list") + "?territoire=tous",
        reverse("exchange:detail", args=[listing.pk]),
        reverse("exchange:edit", args=[listing.pk]),
    ):
        audit_page.goto(live_server.url + url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"
