"""Alerts and abuse handling in a real browser: an alert created from the list's filters, a report, a
facilitator hiding the listing from the moderation page; axe-core on the alert form and the moderation
page."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from essaim.exchange.models import Alert, Listing, ListingReport
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe
from tests.exchange.conftest import make_listing
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def listing():
    return make_listing(
        structure=StructureFactory(name="Garage solidaire"), title="Minibus à prêter", direction="offer"
    )


def test_alert_from_the_list_filters(page, live_server, listing):
    user = UserFactory()
    log_in(page, live_server, user)
    page.goto(live_server.url + reverse("exchange:list") + "?sens=offer&territoire=tous")

    page.get_by_role("link", name="Créer une alerte avec ces critères").click()
    expect(page.get_by_label("Offres ou besoins")).to_have_value("offer")
    page.get_by_label("Chaque jour").check()
    page.get_by_role("button", name="Enregistrer l'alerte").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Mes alertes")
    alert = Alert.objects.get(user=user)
    assert (alert.direction, alert.frequency) == ("offer", "daily")
    feed = page.get_by_label("Adresse du flux RSS")
    expect(feed).to_have_value(re.compile(r"/offres-besoins/alertes/flux/"))
    page.probe.assert_clean()


def test_report_then_hide(page, live_server, listing):
    log_in(page, live_server, UserFactory())
    page.goto(live_server.url + reverse("exchange:detail", args=[listing.pk]))
    page.get_by_role("link", name="Signaler cette annonce").click()
    page.get_by_label("Arnaque ou tentative de fraude").check()
    page.get_by_label("Précisions").fill("Demande un virement à l'avance.")
    page.get_by_role("button", name="Envoyer le signalement").click()
    expect(page.get_by_text("votre signalement a été transmis")).to_be_visible()
    assert ListingReport.objects.filter(listing=listing, reason="fraud").exists()

    log_in(page, live_server, FacilitatorFactory())
    page.goto(live_server.url + reverse("exchange:moderation"))
    expect(page.get_by_text("Demande un virement à l'avance.")).to_be_visible()
    page.get_by_label("Motif du masquage (montré à la structure)").fill("Tentative d'arnaque.")
    page.get_by_role("button", name="Masquer l'annonce").click()
    expect(page.get_by_text("Annonce masquée : elle n'apparaît plus publiquement.")).to_be_visible()
    assert Listing.objects.get(pk=listing.pk).hidden_reason == "Tentative d'arnaque."
    page.probe.assert_clean()


@pytest.mark.parametrize("name", ["exchange:alert_create", "exchange:moderation"])
def test_axe_finds_no_serious_or_critical_violation(audit_page, axe_path, live_server, listing, name):
    ListingReport.objects.create(listing=listing, reporter=UserFactory(), reason="spam", text="Publicité")
    log_in(audit_page, live_server, FacilitatorFactory())
    audit_page.goto(live_server.url + reverse(name))
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], describe(violations)
