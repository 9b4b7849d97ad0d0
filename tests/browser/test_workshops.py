"""Workshops in a real browser: voting with green/red dots on a phone, the room display following the votes of
another browser within seconds, axe-core on the participants' pages."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from essaim.workshops import services
from essaim.workshops.models import Colour, Phase, Vote
from tests.browser.test_shell import axe_violations, describe
from tests.workshops.conftest import make_consultation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEEDS = ("Coopération économique", "Reconnaissance et visibilité", "Nouvelle organisation territoriale")


@pytest.fixture
def consultation():
    consultation = make_consultation(phase=Phase.OPEN, items=NEEDS, red_limit=1)
    consultation.codes = services.room_codes_generate(
        consultation=consultation, count=2, actor=consultation.owner
    )
    return consultation


def join(page, live_server, consultation, code):
    page.goto(live_server.url + reverse("workshops:detail", args=[consultation.slug]))
    page.get_by_label("Code de salle").fill(code.room_code)
    page.get_by_role("button", name="Participer avec ce code").click()
    expect(page.get_by_text("Code accepté : vous pouvez voter.")).to_be_visible()


def test_vote_with_green_and_red_dots_on_a_phone(mobile_page, live_server, consultation):
    page = mobile_page
    join(page, live_server, consultation, consultation.codes[0])
    first = page.locator(f"#besoin-{consultation.items.get(title=NEEDS[0]).pk}")
    second = page.locator(f"#besoin-{consultation.items.get(title=NEEDS[1]).pk}")
    budget = page.locator("#budget")
    expect(budget).to_contain_text("1 rouge")

    first.get_by_role("button", name="D'accord (vert)").click()
    expect(first.get_by_role("button", name="Gommette verte posée")).to_have_attribute("aria-pressed", "true")
    second.get_by_role("button", name="Pas d'accord (rouge)").click()
    expect(second.get_by_role("button", name="Gommette rouge posée")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(budget).to_contain_text("0 rouge")

    # The red budget is spent: a second red dot is refused, said in the card, and nothing is stored.
    first.get_by_role("button", name="Pas d'accord (rouge)").click()
    expect(first.get_by_role("status")).to_have_text("Plus de gommette rouge disponible.")
    # Touching a dot again takes it back and frees the budget.
    second.get_by_role("button", name="Gommette rouge posée").click()
    expect(budget).to_contain_text("1 rouge")

    participant = consultation.codes[0]
    assert sorted(Vote.objects.filter(participant=participant).values_list("item__title", "colour")) == [
        (NEEDS[0], Colour.GREEN)
    ]
    # The toggles fit a 320 px screen: no horizontal scrolling.
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth)"
        ".map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide
    page.probe.assert_clean()


def test_room_display_follows_votes_from_another_browser(page, mobile_page, live_server, consultation):
    item = consultation.items.get(title=NEEDS[2])
    page.goto(live_server.url + reverse("workshops:room", args=[consultation.slug]))
    green = page.locator(f'[data-item="{item.pk}"] [data-count="green"]')
    expect(green).to_have_text("0")
    qr = page.get_by_role("img", name="Code QR menant à la page de vote")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "le code QR ne s'affiche pas"

    join(mobile_page, live_server, consultation, consultation.codes[1])
    mobile_page.locator(f"#besoin-{item.pk}").get_by_role("button", name="D'accord (vert)").click()

    expect(green).to_have_text("1", timeout=3_000)
    page.probe.assert_clean()
    mobile_page.probe.assert_clean()


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_finds_no_serious_or_critical_violation_on_the_voting_page(
    audit_page, axe_path, live_server, consultation, width
):
    audit_page.set_viewport_size({"width": width, "height": 900})
    join(audit_page, live_server, consultation, consultation.codes[0])
    assert axe_violations(audit_page, axe_path) == []


@pytest.mark.parametrize("name", ["workshops:room", "workshops:list"])
def test_axe_on_the_room_display_and_the_list(audit_page, axe_path, live_server, consultation, name):
    args = [consultation.slug] if name == "workshops:room" else []
    audit_page.goto(live_server.url + reverse(name, args=args))
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], describe(violations)


def test_axe_on_the_published_synthesis(audit_page, axe_path, live_server, consultation):
    services.paper_tally_set(item=consultation.items.first(), green=18, red=1, actor=consultation.owner)
    for phase in (Phase.CLOSED, Phase.PUBLISHED):
        services.consultation_set_phase(consultation=consultation, phase=phase, actor=consultation.owner)
    audit_page.goto(live_server.url + reverse("workshops:synthesis", args=[consultation.slug]))
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], describe(violations)
