"""The commune combobox ("Trouver une commune") in a real browser: keyboard, mouse, small screens, axe-core,
and the same page without JavaScript."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from essaim.territories.services import perimeter_save, territories_load_cog
from tests.browser.conftest import assert_fits_width, screenshot
from tests.browser.test_shell import axe_violations, describe
from tests.territories.fixtures import write_cog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def territories(tmp_path):
    """The small hand-made COG through the real loader, and two perimeters containing Ramonville."""
    territories_load_cog(source=write_cog(tmp_path / "cog"))
    perimeter_save(slug="sicoval", name="Sicoval", kind="epci", epci_codes=["243100633"], is_home=True)
    perimeter_save(slug="hg", name="Haute-Garonne", kind="departement", departement_codes=["31"])


def open_finder(page, live_server):
    page.goto(live_server.url + reverse("territories:commune_finder"))
    combobox = page.get_by_role("combobox", name="Commune ou code postal")
    # The script is deferred: wait until it has hooked the input (it owns the listbox from then on).
    expect(combobox).to_have_attribute("aria-expanded", "false")
    # Not wait_for_function: its polling evaluates a string, which the CSP forbids.
    page.wait_for_load_state("load")
    return combobox


def type_query(page, combobox, text: str):
    combobox.focus()
    page.keyboard.type(text, delay=30)
    listbox = page.get_by_role("listbox", name="Communes proposées")
    expect(combobox).to_have_attribute("aria-expanded", "true")
    expect(listbox).to_be_visible()
    return listbox


def active_option(page, combobox):
    option_id = combobox.get_attribute("aria-activedescendant")
    assert option_id, "aucune option active (aria-activedescendant absent)"
    return page.locator(f"#{option_id}")


def expect_ramonville_card(page):
    card = page.get_by_role("region", name="Ramonville-Saint-Agne")
    expect(card).to_be_visible()
    for expected in ["31446", "31520", "CA du Sicoval", "Haute-Garonne (31)", "Occitanie"]:
        expect(card).to_contain_text(expected)
    expect(card).to_contain_text(re.compile(r"14\s?877 habitants"))  # with or without a thousands space
    expect(card.get_by_role("link", name="Sicoval")).to_have_attribute(
        "href", reverse("territories:perimeter_detail", args=["sicoval"])
    )
    expect(card.get_by_role("link", name="Haute-Garonne")).to_be_visible()


def test_keyboard_only_finds_a_commune_and_shows_its_territories(page, live_server, territories):
    combobox = open_finder(page, live_server)

    listbox = type_query(page, combobox, "ramon")

    options = listbox.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Ramonville-Saint-Agne")
    expect(options.first).to_contain_text("Haute-Garonne (31) · 31520")
    expect(page.get_by_role("status").filter(has_text="proposée")).to_have_text("1 commune proposée.")
    assert combobox.get_attribute("aria-activedescendant") is None

    page.keyboard.press("ArrowDown")
    option = active_option(page, combobox)
    expect(option).to_have_attribute("aria-selected", "true")
    expect(option).to_contain_text("Ramonville-Saint-Agne")
    screenshot(page, "commune-liste-ouverte-bureau")
    expect(combobox).to_be_focused()  # the focus stays in the input (aria-activedescendant pattern)

    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"commune=31446"))
    expect_ramonville_card(page)
    expect(page.get_by_role("combobox", name="Commune ou code postal")).to_have_value(
        "Ramonville-Saint-Agne (31)"
    )
    screenshot(page, "commune-choisie-bureau")
    page.probe.assert_clean()


def test_the_script_carries_the_csp_nonce(page, live_server):
    page.goto(live_server.url + reverse("territories:commune_finder"))

    nonces = page.evaluate(
        "() => [...document.querySelectorAll('script[src]')].map((s) => [s.src.split('/').pop(), s.nonce])"
    )

    assert any(name.startswith("commune-autocomplete") for name, _ in nonces)
    assert len({nonce for _, nonce in nonces}) == 1 and nonces[0][1]  # the page's one nonce, on each script


def test_accents_are_optional_and_arrows_wrap(page, live_server, territories):
    combobox = open_finder(page, live_server)

    listbox = type_query(page, combobox, "st etienne")

    options = listbox.get_by_role("option")
    expect(options).to_have_count(2)
    expect(options.nth(0)).to_contain_text("Saint-Étienne")
    expect(options.nth(0)).to_contain_text("Loire (42)")
    expect(options.nth(1)).to_contain_text("Saint-Étienne-de-Tulmont")
    expect(page.get_by_role("status").filter(has_text="proposées")).to_have_text("2 communes proposées.")

    page.keyboard.press("ArrowUp")  # from the input, ArrowUp goes to the last option
    expect(active_option(page, combobox)).to_contain_text("Saint-Étienne-de-Tulmont")
    page.keyboard.press("ArrowDown")  # and ArrowDown wraps around to the first one
    expect(active_option(page, combobox)).to_contain_text("Loire (42)")
    expect(listbox.locator("[aria-selected=true]")).to_have_count(1)

    page.keyboard.press("Escape")
    expect(combobox).to_have_attribute("aria-expanded", "false")
    expect(listbox).to_be_hidden()
    assert combobox.get_attribute("aria-activedescendant") is None
    expect(combobox).to_have_value("st etienne")  # the first Escape only closes the list
    page.probe.assert_clean()


def test_clicking_an_option_picks_it(page, live_server, territories):
    combobox = open_finder(page, live_server)
    listbox = type_query(page, combobox, "31520")

    listbox.get_by_role("option", name=re.compile("Ramonville")).click()

    page.wait_for_url(re.compile(r"commune=31446"))
    expect_ramonville_card(page)
    page.probe.assert_clean()


def test_no_match_is_announced_and_the_list_stays_closed(page, live_server, territories):
    combobox = open_finder(page, live_server)
    combobox.focus()

    page.keyboard.type("zzzz", delay=30)

    expect(page.locator("#commune-status")).to_have_text("Aucune commune trouvée.")
    expect(combobox).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("listbox", include_hidden=True)).to_be_hidden()
    page.probe.assert_clean()


def test_open_list_fits_a_320_px_screen(mobile_page, live_server, territories):
    combobox = open_finder(mobile_page, live_server)

    listbox = type_query(mobile_page, combobox, "toul")

    expect(listbox.get_by_role("option")).to_have_count(3)
    assert_fits_width(mobile_page)
    box = listbox.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
    mobile_page.keyboard.press("ArrowDown")
    mobile_page.keyboard.press("ArrowDown")
    expect(active_option(mobile_page, combobox)).to_contain_text("Toulouse")
    screenshot(mobile_page, "commune-liste-ouverte-320px")
    mobile_page.keyboard.press("ArrowUp")
    mobile_page.keyboard.press("Enter")
    mobile_page.wait_for_url(re.compile(r"commune=54528"))
    assert_fits_width(mobile_page)
    screenshot(mobile_page, "commune-choisie-320px")
    mobile_page.probe.assert_clean()


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_no_serious_violation_with_the_list_open(audit_page, axe_path, live_server, territories, width):
    audit_page.set_viewport_size({"width": width, "height": 900})
    combobox = open_finder(audit_page, live_server)
    type_query(audit_page, combobox, "toul")
    audit_page.keyboard.press("ArrowDown")
    active_option(audit_page, combobox)

    violations = axe_violations(audit_page, axe_path)

    assert violations == [], describe(violations)


def test_axe_on_the_chosen_commune(audit_page, axe_path, live_server, territories):
    audit_page.goto(live_server.url + reverse("territories:commune_finder") + "?commune=31446")
    expect_ramonville_card(audit_page)

    violations = axe_violations(audit_page, axe_path)

    assert violations == [], describe(violations)


def test_without_javascript_the_form_lists_results_then_the_commune(browser, live_server, territories):
    context = browser.new_context(viewport={"width": 320, "height": 640}, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + reverse("territories:commune_finder"))

        page.get_by_label("Commune ou code postal").fill("ramon")
        page.get_by_role("button", name="Rechercher").click()

        results = page.get_by_role("region", name="Communes trouvées")
        results.get_by_role("link", name="Ramonville-Saint-Agne").click()
        expect_ramonville_card(page)

        # A new search from the commune's page searches again (the previous choice is not resent).
        page.get_by_label("Commune ou code postal").fill("colomiers")
        page.get_by_role("button", name="Rechercher").click()
        expect(page.get_by_role("region", name="Communes trouvées")).to_contain_text("Colomiers")
        expect(page.get_by_role("region", name="Ramonville-Saint-Agne")).to_have_count(0)
        assert_fits_width(page)
    finally:
        context.close()
