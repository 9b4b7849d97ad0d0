"""The agenda in a real browser: register on a phone to a full event and land on the waiting list; check in
a participant over HTMX; axe-core on the event, registration and check-in pages."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from essaim.events import services
from essaim.events.models import Attendance, Registration
from tests.browser.conftest import assert_fits_width
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe
from tests.events.conftest import make_event
from tests.factories import FacilitatorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def full_event():
    event = make_event(title="Bouillon de territoire", capacity=1)
    services.category_add(event=event, label="Acteur de l'ESS")
    services.category_add(event=event, label="Collectivité", price_cents=2500)
    category = event.categories.first()
    services.registration_create(
        event=event, full_name="Camille Déjà", email="deja@exemple.fr", category=category
    )
    return event


def test_register_on_a_phone_to_a_full_event_lands_on_the_waiting_list(mobile_page, live_server, full_event):
    page = mobile_page
    page.goto(live_server.url + reverse("events:detail", args=[full_event.slug]))
    page.get_by_role("button", name="M'inscrire sur la liste d'attente").click()

    page.get_by_label("Nom et prénom").fill("Dominique Martin")
    page.get_by_label("Adresse électronique").fill("dominique@exemple.fr")
    page.get_by_label("Vous venez en tant que").select_option(label="Collectivité (25 €)")
    page.get_by_label("J'accepte que mes nom").check()
    page.get_by_role("button", name="Valider mon inscription").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Vous êtes sur la liste d'attente")
    assert Registration.objects.get(email="dominique@exemple.fr").status == "waiting"
    # Nothing wider than the screen (WCAG 1.4.10 reflow).
    assert_fits_width(page)
    page.probe.assert_clean()


def test_check_in_a_participant_over_htmx(page, live_server, full_event):
    log_in(page, live_server, FacilitatorFactory())
    page.goto(live_server.url + reverse("events:checkin", args=[full_event.slug]))

    page.get_by_role("textbox", name="Rechercher une personne inscrite").fill("camille")
    page.get_by_role("button", name="Présent : Camille Déjà").click()

    expect(page.locator("#pointage")).to_contain_text("1 présent sur 1 inscrit")
    registration = Registration.objects.get(email="deja@exemple.fr")
    assert registration.attendance == Attendance.PRESENT
    page.probe.assert_clean()


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_finds_no_serious_violation_on_event_and_registration_pages(
    audit_page, axe_path, live_server, full_event, width
):
    audit_page.set_viewport_size({"width": width, "height": 900})
    for url in (
        reverse("events:list") + "?territoire=tous",
        reverse("events:detail", args=[full_event.slug]),
        reverse("events:register", args=[full_event.slug]),
    ):
        audit_page.goto(live_server.url + url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"


def test_axe_finds_no_serious_violation_on_the_organiser_pages(audit_page, axe_path, live_server, full_event):
    log_in(audit_page, live_server, FacilitatorFactory())
    audit_page.set_viewport_size({"width": 768, "height": 1024})  # a tablet at the welcome desk
    for url_name in ("events:checkin", "events:participants", "events:report"):
        audit_page.goto(live_server.url + reverse(url_name, args=[full_event.slug]))
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url_name}\n{describe(violations)}"
