"""Freshness link, quality page and taxonomy pages in a real browser; axe-core on each of them."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from essaim.actors.freshness import confirm_token, freshness_send
from essaim.actors.models import FreshnessReminder, Status, Structure, Theme
from essaim.actors.quality import quality_refresh
from tests.browser.conftest import screenshot
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe
from tests.factories import FacilitatorFactory, StructureFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reminded():
    structure = StructureFactory(
        name="La Rafistolerie",
        status=Status.PUBLISHED,
        email="contact@rafistolerie.org",
        last_verified_at=timezone.localdate() - datetime.timedelta(days=400),
    )
    freshness_send()
    reminder = FreshnessReminder.objects.get(structure=structure)
    return structure, reverse("actors:freshness_confirm", args=[confirm_token(reminder)])


def test_the_still_accurate_link_confirms_with_one_button(page, live_server, reminded):
    structure, path = reminded
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", level=1)).to_contain_text("La Rafistolerie")
    assert Structure.objects.get(pk=structure.pk).last_verified_at != timezone.localdate()
    page.get_by_role("button", name="Oui, la fiche est toujours exacte").click()
    expect(page.get_by_role("status").filter(has_text="vérifiée")).to_be_visible()
    assert Structure.objects.get(pk=structure.pk).last_verified_at == timezone.localdate()
    page.probe.assert_clean()


def test_axe_on_freshness_quality_and_taxonomy_pages(audit_page, axe_path, live_server, reminded):
    _structure, path = reminded
    audit_page.goto(live_server.url + path)
    screenshot(audit_page, "fraicheur-confirmer")
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], describe(violations)

    theme = Theme.objects.get_or_create(slug="culture", defaults={"label": "Culture"})[0]
    StructureFactory(name="Fiche vide", status=Status.DRAFT).themes.add(theme)
    quality_refresh()
    log_in(audit_page, live_server, FacilitatorFactory())
    for url in (
        reverse("actors:quality"),
        reverse("actors:quality") + "?a_actualiser=on&manque=email",
        reverse("actors:themes"),
        reverse("actors:labels"),
        reverse("actors:theme_detail", args=[theme.pk]),
    ):
        audit_page.goto(live_server.url + url)
        screenshot(audit_page, "gestion-" + url.strip("/").replace("/", "-").replace("?", "-"))
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"
