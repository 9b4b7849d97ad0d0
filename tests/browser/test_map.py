"""The map (Carte) in a real browser: markers and the list view show the same structures, the list drives
the map, the viewport is kept in the URL, axe-core finds nothing serious. Test settings serve blank inline
tiles, so the map makes no request to another host."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.test_shell import axe_violations, describe
from tests.factories import StructureFactory
from tests.map.conftest import make_commune

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def structures():
    castres = make_commune("81065", "Castres", 43.6060, 2.2410)
    albi = make_commune("81004", "Albi", 43.9277, 2.1470)
    # Enough structures for clusters at the initial (national) zoom, and a lone point far away.
    for index in range(30):
        StructureFactory(name=f"Atelier de Castres {index}", commune=castres)
    for index in range(30):
        StructureFactory(name=f"Atelier d'Albi {index}", commune=albi)
    StructureFactory(name="La Rafistolerie", latitude=48.8566, longitude=2.3522)


def viewport(page) -> dict:
    query = parse_qs(urlsplit(page.url).query)
    return {key: query[key][0] for key in ("lat", "lon", "z") if key in query}


def test_markers_and_list_show_the_same_structures_and_the_list_zooms_the_map(page, live_server, structures):
    page.goto(live_server.url + reverse("map:map"))

    status = page.locator("[data-map-status]")
    expect(status).to_contain_text("La carte affiche 61 structures")
    clusters = page.locator(".map-cluster")
    points = page.locator(".map-point")
    items = page.locator("[data-map-list] > li")
    marker_count = clusters.count() + points.count()
    assert marker_count >= 2
    assert items.count() == marker_count
    total_on_map = sum(int(text) for text in clusters.all_inner_texts()) + points.count()
    assert total_on_map == 61
    assert page.locator("[data-map-list]").get_attribute("data-total") == "61"
    start = viewport(page)
    assert set(start) == {"lat", "lon", "z"}

    cluster_button = page.get_by_role("button", name=re.compile(r"^\d+\s+structures autour de"))
    cluster_button.first.click()

    expect(page).not_to_have_url(re.compile(rf"z={start['z']}(&|$)"))
    assert int(viewport(page)["z"]) > int(start["z"])
    expect(page.get_by_role("heading", name="Liste des structures affichées")).to_be_focused()
    page.probe.assert_clean()


def test_a_point_opens_a_popup_linking_to_the_card(page, live_server, structures):
    page.goto(live_server.url + reverse("map:map") + "?q=rafistolerie&lat=48.8566&lon=2.3522&z=12")

    expect(page.locator("[data-map-status]")).to_contain_text("La carte affiche 1")
    page.locator(".map-point").click()
    page.locator(".leaflet-popup").get_by_role("link", name="La Rafistolerie").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("La Rafistolerie")
    page.probe.assert_clean()


def test_without_javascript_the_list_and_the_directory_remain(browser, live_server, structures):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + reverse("map:map") + "?q=rafistolerie")

    expect(page.locator("[data-map-section]")).to_be_hidden()
    expect(page.locator("[data-map-list]").get_by_role("link")).to_have_text(["La Rafistolerie"])
    expect(page.get_by_role("link", name=re.compile("dans l'annuaire"))).to_be_visible()
    context.close()


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_finds_no_serious_or_critical_violation_on_the_map(
    audit_page, axe_path, live_server, structures, width
):
    audit_page.set_viewport_size({"width": width, "height": 900})
    audit_page.goto(live_server.url + reverse("map:map"))
    expect(audit_page.locator("[data-map-status]")).to_contain_text("La carte affiche")

    violations = axe_violations(audit_page, axe_path)

    assert violations == [], describe(violations)
