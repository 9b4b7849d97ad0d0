"""The map of offers and needs in a real browser: one marker per place, popups linking to the listings, the
list below showing the same listings, no request to another host, axe-core finds nothing serious."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import assert_fits_width
from tests.browser.test_shell import axe_violations, describe
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory
from tests.map.conftest import make_commune

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def listings():
    castres = make_commune("81065", "Castres", 43.6060, 2.2410)
    albi = make_commune("81004", "Albi", 43.9277, 2.1470)
    garage = StructureFactory(name="Garage solidaire", commune=castres)
    make_listing(structure=garage, title="Minibus à prêter", kind="equipment")
    make_listing(structure=garage, title="Atelier de réparation", kind="service")
    make_listing(structure=StructureFactory(name="Tiers-lieu d'Albi", commune=albi), title="Bureau partagé")


def test_markers_popups_and_list(page, live_server, listings):
    page.goto(live_server.url + reverse("exchange:map") + "?territoire=tous")

    expect(page.locator("[data-listing-map-section]")).to_be_visible()
    expect(page.locator(".map-point")).to_have_count(2)  # two places, three listings
    expect(page.locator(".map-list__items li")).to_have_count(3)
    page.locator(".map-point[title$='annonces : Garage solidaire']").click()
    popup = page.locator(".leaflet-popup")
    expect(popup.get_by_role("link")).to_have_count(2)
    popup.get_by_role("link", name="Minibus à prêter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Minibus à prêter")
    page.probe.assert_clean()


def test_map_page_fits_a_phone(mobile_page, live_server, listings):
    mobile_page.goto(live_server.url + reverse("exchange:map") + "?territoire=tous")
    expect(mobile_page.locator(".map-point")).to_have_count(2)
    assert_fits_width(mobile_page)
    mobile_page.probe.assert_clean()


def test_axe_finds_no_serious_or_critical_violation(audit_page, axe_path, live_server, listings):
    audit_page.goto(live_server.url + reverse("exchange:map") + "?territoire=tous")
    expect(audit_page.locator(".map-point")).to_have_count(2)
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], describe(violations)
