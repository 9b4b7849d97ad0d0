"""The agenda's calendar, map, feeds and widget in a real browser: keyboard navigation of the month calendar,
reflow at 320 px, markers of the map, copying a feed address, the widget framed by another site while the
other pages refuse to be framed, and axe-core at 1280 and 320 px."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from essaim.territories.models import Perimeter, PerimeterCommune
from tests.browser.conftest import assert_fits_width
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe, focused
from tests.events.conftest import make_event
from tests.factories import FacilitatorFactory
from tests.map.conftest import make_commune

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def local(day: int, hour: int, month: int = 3) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(2031, month, day, hour))


@pytest.fixture
def agenda():
    caussade = make_commune("82037", "Caussade", 44.16, 1.53)
    nontron = make_commune("24311", "Nontron", 45.53, 0.66)
    perimeter = Perimeter.objects.create(name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom")
    PerimeterCommune.objects.create(perimeter=perimeter, commune=caussade)
    make_event(
        title="Forum des initiatives solidaires de Caussade",
        commune=caussade,
        start=local(10, 9),
        end=local(11, 17),
    )
    make_event(title="Bouillon de territoire", commune=nontron, start=local(18, 9), end=local(18, 17))
    make_event(title="Apéro ESS", commune=caussade, start=local(4, 18, month=4), end=local(4, 20, month=4))
    # Upcoming ones for the map and the widget: two at the same place share one marker.
    make_event(title="Café ESS de Caussade", commune=caussade, days=5)
    make_event(title="Atelier compta à Caussade", commune=caussade, days=6)
    make_event(title="Visite apprenante à Nontron", commune=nontron, days=7)
    return perimeter


def calendar_url(live_server, month="2031-03"):
    return f"{live_server.url}{reverse('events:calendar')}?territoire=tous&mois={month}"


def tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element's text starts with ``name`` (fails after ``limit`` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page)["text"].startswith(name):
            return
    raise AssertionError(f"« {name} » n'est pas atteignable au clavier")


def test_calendar_keyboard_navigation(page, live_server, agenda):
    page.goto(calendar_url(live_server))
    expect(page.get_by_role("heading", level=2, name="Mars 2031")).to_be_visible()
    table = page.get_by_role("table", name="Événements de mars 2031")
    expect(table.get_by_role("columnheader")).to_have_count(7)

    # Month links and event links are reached in reading order, and followed with Enter.
    tab_to(page, "Mois suivant")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name="Avril 2031")).to_be_visible()
    assert "mois=2031-04" in page.url and "territoire=tous" in page.url
    tab_to(page, "18h00 Apéro ESS")
    page.go_back()
    expect(page.get_by_role("heading", level=2, name="Mars 2031")).to_be_visible()
    tab_to(page, "09h00 Forum des initiatives")
    assert focused(page)["tag"] == "a"
    tab_to(page, "(suite) Forum des initiatives", limit=5)  # the second day of the same event, next cell
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Forum des initiatives solidaires de Caussade")
    page.probe.assert_clean()


def test_calendar_reflows_to_a_list_of_days_at_320_px(mobile_page, live_server, agenda):
    page = mobile_page
    page.goto(calendar_url(live_server))
    expect(page.locator("table.calendar")).to_be_hidden()
    days = page.locator(".calendar-days__date")
    expect(days).to_have_text(["Lundi 10 mars", "Mardi 11 mars", "Mardi 18 mars"])
    assert_fits_width(page)
    page.probe.assert_clean()


def test_map_draws_one_marker_per_place_and_lists_the_same_events(page, live_server, agenda):
    page.goto(f"{live_server.url}{reverse('events:map')}?territoire=tous")
    canvas = page.locator("[data-agenda-map]")
    expect(canvas).to_have_attribute("data-markers", "2")
    # Caussade holds four events to come (two in 2031), Nontron two.
    expect(page.locator(".map-cluster")).to_have_text(["4", "2"])
    expect(page.locator("[data-agenda-map-list] > li")).to_have_count(6)
    page.locator(".map-cluster").first.click()
    expect(page.locator(".map-popup")).to_contain_text("Café ESS de Caussade")
    expect(page.locator(".map-popup")).to_contain_text("Atelier compta à Caussade")
    page.probe.assert_clean()


def test_copy_a_feed_address(page, live_server, agenda):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}{reverse('events:list')}?territoire=pays-midi-quercy")
    button = page.get_by_role("button", name="Copier l'adresse « Territoire : Pays Midi-Quercy » (iCalendar)")
    button.click()
    expect(page.locator("[data-copy-status]").first).to_have_text(
        "Adresse copiée : collez-la dans votre logiciel."
    )
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == live_server.url + reverse("events:perimeter_feed", args=[agenda.slug])
    page.probe.assert_clean()


def test_another_site_frames_the_widget_but_not_the_agenda(page, live_server, agenda):
    # The partner's page is on another origin (127.0.0.1 vs the live server's localhost): a static file is a
    # real loopback response without our CSP (Chromium refuses a routed page framing a local address).
    port = live_server.url.rsplit(":", 1)[1]
    page.goto(f"http://127.0.0.1:{port}/static/essaim/css/widget.css")
    widget = f"{live_server.url}{reverse('events:widget')}?territoire=pays-midi-quercy"
    agenda_page = f"{live_server.url}{reverse('events:list')}"
    page.set_content(f'<iframe id="w" src="{widget}"></iframe><iframe id="a" src="{agenda_page}"></iframe>')

    frame = page.frame_locator("#w")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Prochains événements — Pays Midi-Quercy")
    link = frame.get_by_role("link", name="Café ESS de Caussade (nouvel onglet)")
    expect(link).to_have_attribute("target", "_blank")
    expect(page.frame_locator("#a").get_by_role("heading", name="Agenda")).to_have_count(0)
    assert any("frame-ancestors 'none'" in error for error in page.probe.console_errors)
    assert page.probe.blocked == [] and page.probe.page_errors == []


def test_embed_code_page_previews_the_widget(page, live_server, agenda):
    log_in(page, live_server, FacilitatorFactory())
    page.goto(f"{live_server.url}{reverse('events:widget_code')}")
    page.get_by_label("Territoire").select_option(label="Pays Midi-Quercy")
    page.get_by_label("Nombre d'événements affichés").fill("1")
    page.get_by_role("button", name="Mettre à jour le code").click()
    code = page.get_by_label("Code d'intégration (HTML)")
    assert "territoire=pays-midi-quercy" in code.input_value() and "nombre=1" in code.input_value()
    preview = page.frame_locator(".widget-preview__frame")
    expect(preview.locator(".widget__event")).to_have_count(1)
    page.probe.assert_clean()


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_and_reflow_on_the_agenda_views(audit_page, axe_path, live_server, agenda, width):
    audit_page.set_viewport_size({"width": width, "height": 900})
    for url in (
        calendar_url(live_server),
        f"{live_server.url}{reverse('events:map')}?territoire=tous",
        f"{live_server.url}{reverse('events:list')}?territoire=pays-midi-quercy",
        f"{live_server.url}{reverse('events:widget')}?territoire=tous",
    ):
        audit_page.goto(url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"
        assert_fits_width(audit_page, width)


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_and_reflow_on_the_embed_code_page(audit_page, axe_path, live_server, agenda, width):
    log_in(audit_page, live_server, FacilitatorFactory())
    audit_page.set_viewport_size({"width": width, "height": 900})
    audit_page.goto(f"{live_server.url}{reverse('events:widget_code')}")
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], describe(violations)
    assert_fits_width(audit_page, width)
