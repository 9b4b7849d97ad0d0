"""Browser journeys through the UI shell: keyboard, navigation, login, small screens, axe-core audit."""

import json

import pytest
from django.urls import reverse

from tests.browser.conftest import assert_fits_width, screenshot
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAIN_NAV = ["Annuaire", "Carte", "Offres & besoins", "Agenda", "Ateliers", "Ressources"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def focused(page) -> dict:
    return page.evaluate(
        "() => { const el = document.activeElement;"
        " return {id: el.id, tag: el.tagName.toLowerCase(), text: el.textContent.trim()}; }"
    )


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(page, live_server):
    page.goto(live_server.url + reverse("www:home"))

    page.keyboard.press("Tab")

    assert focused(page)["text"] == "Aller au contenu"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0 and box["height"] > 0  # visible once focused
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "contenu"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    page.probe.assert_clean()


def test_scripts_run_under_the_csp(page, live_server):
    page.goto(live_server.url + reverse("www:home"))

    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("document.documentElement.classList.contains('js')")
    page.probe.assert_clean()  # a CSP violation would show up as a console error


def test_main_navigation_reaches_every_section(page, live_server):
    page.goto(live_server.url + reverse("www:home"))
    nav = page.get_by_role("navigation", name="Navigation principale")

    for label in MAIN_NAV:
        nav.get_by_role("link", name=label, exact=True).click()
        page.wait_for_load_state()
        current = nav.locator("a[aria-current='page']")
        assert current.count() == 1
        assert current.inner_text() == label
        assert page.locator("h1").count() == 1
    page.probe.assert_clean()


def test_footer_leads_to_the_accessibility_statement(page, live_server):
    page.goto(live_server.url + reverse("www:home"))

    page.get_by_role("contentinfo").get_by_role("link", name="Déclaration d'accessibilité").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Déclaration d'accessibilité"
    page.probe.assert_clean()


def test_member_logs_in_sees_the_profile_then_logs_out(page, live_server):
    user = UserFactory(full_name="Camille Martin")
    page.goto(live_server.url + reverse("www:home"))

    page.get_by_role("navigation", name="Mon compte").get_by_role("link", name="Se connecter").click()
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Se connecter").click()

    page.wait_for_url(live_server.url + reverse("accounts:profile"))
    assert page.get_by_role("heading", level=1).inner_text() == "Mon profil"
    account_nav = page.get_by_role("navigation", name="Mon compte")
    assert account_nav.get_by_role("link", name="Mon profil").get_attribute("aria-current") == "page"
    screenshot(page, "profil-bureau")

    account_nav.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(live_server.url + reverse("www:home"))
    assert (
        page.get_by_role("navigation", name="Mon compte")
        .get_by_role("link", name="Se connecter")
        .is_visible()
    )
    page.probe.assert_clean()


@pytest.mark.parametrize("url_name", ["www:home", "accounts:login", "accounts:signup", "www:accessibility"])
def test_no_horizontal_scroll_at_320_px(mobile_page, live_server, url_name):
    mobile_page.goto(live_server.url + reverse(url_name))

    assert_fits_width(mobile_page)
    screenshot(mobile_page, f"{url_name.replace(':', '-')}-320px")
    mobile_page.probe.assert_clean()


def test_menu_button_opens_and_closes_the_navigation_at_320_px(mobile_page, live_server):
    mobile_page.goto(live_server.url + reverse("www:home"))
    toggle = mobile_page.get_by_role("button", name="Menu")
    annuaire = mobile_page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Annuaire"
    )

    assert toggle.get_attribute("aria-expanded") == "false"
    assert not annuaire.is_visible()

    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert annuaire.is_visible()
    assert_fits_width(mobile_page)
    screenshot(mobile_page, "menu-ouvert-320px")

    mobile_page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not annuaire.is_visible()
    assert focused(mobile_page)["text"] == "Menu"

    toggle.click()
    annuaire.click()
    mobile_page.wait_for_url(live_server.url + reverse("actors:list"))
    mobile_page.probe.assert_clean()


def test_navigation_stays_usable_without_javascript(browser, live_server):
    context = browser.new_context(viewport={"width": 320, "height": 640}, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + reverse("www:home"))

        assert not page.get_by_role("button", name="Menu").is_visible()
        assert (
            page.get_by_role("navigation", name="Navigation principale")
            .get_by_role("link", name="Agenda")
            .is_visible()
        )
    finally:
        context.close()


def axe_violations(page, axe_path) -> list[dict]:
    """Serious and critical WCAG 2.1 A/AA violations axe-core finds on the page as it is now."""
    page.add_script_tag(path=str(axe_path))
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [violation for violation in result["violations"] if violation["impact"] in {"serious", "critical"}]


def describe(violations: list[dict]) -> str:
    return json.dumps(
        [
            {
                "id": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "targets": [node["target"] for node in violation["nodes"]],
                "summary": [node["failureSummary"] for node in violation["nodes"]][:3],
            }
            for violation in violations
        ],
        ensure_ascii=False,
        indent=2,
    )


@pytest.mark.parametrize("url_name", ["www:home", "accounts:login", "accounts:signup", "www:accessibility"])
@pytest.mark.parametrize("width", [1280, 320])
def test_axe_finds_no_serious_or_critical_violation(audit_page, axe_path, live_server, url_name, width):
    audit_page.set_viewport_size({"width": width, "height": 900})
    audit_page.goto(live_server.url + reverse(url_name))

    violations = axe_violations(audit_page, axe_path)

    if violations:
        print(describe(violations))
    assert violations == [], describe(violations)


def test_axe_checks_form_errors_too(audit_page, axe_path, live_server):
    audit_page.goto(live_server.url + reverse("accounts:login"))
    audit_page.get_by_role("main").get_by_role("button", name="Se connecter").click()
    audit_page.wait_for_load_state()

    violations = axe_violations(audit_page, axe_path)

    assert violations == [], describe(violations)


def test_axe_catches_a_violation(audit_page, axe_path, live_server):
    """The audit can fail: an image without alternative text is a critical violation for axe."""
    audit_page.goto(live_server.url + reverse("www:home"))
    audit_page.evaluate("document.querySelector('main').append(document.createElement('img'))")

    violations = axe_violations(audit_page, axe_path)

    assert "image-alt" in [violation["id"] for violation in violations]
