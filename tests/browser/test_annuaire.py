"""The directory (Annuaire) in a real browser: live filtering announced to screen readers, URL kept in sync
without one history entry per keystroke, opening a card, axe-core."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.test_shell import axe_violations, describe
from tests.factories import StructureFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def structures():
    for name in ("La Rafistolerie", "Café associatif du bourg", "Recyclerie des Ateliers de Castres"):
        StructureFactory(name=name)


def test_live_filter_announces_the_count_and_opens_a_card(page, live_server, structures):
    page.goto(live_server.url + reverse("actors:list"))
    # Not wait_for_function: its polling evaluates a string, which the CSP forbids.
    page.wait_for_load_state("load")
    history_before = page.evaluate("history.length")

    page.get_by_role("textbox", name=re.compile(r"^Rechercher")).press_sequentially("rafis", delay=40)

    status = page.get_by_role("status").filter(has_text="trouvée")
    expect(status).to_have_text("1 structure trouvée")
    results = page.locator("#resultats")
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results).to_contain_text("La Rafistolerie")
    assert "q=rafis" in page.url
    # Typing replaces the URL instead of pushing one history entry per keystroke.
    assert page.evaluate("history.length") == history_before

    results.get_by_role("link", name="La Rafistolerie").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("La Rafistolerie")


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_finds_no_serious_or_critical_violation_on_the_directory(
    audit_page, axe_path, live_server, structures, width
):
    audit_page.set_viewport_size({"width": width, "height": 900})
    audit_page.goto(live_server.url + reverse("actors:list") + "?q=atel")

    violations = axe_violations(audit_page, axe_path)

    assert violations == [], describe(violations)
