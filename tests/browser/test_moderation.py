"""Self-service editing in a real browser: a member edits a published card (commune chosen with the combobox),
a facilitator approves the field-by-field diff; axe-core on the edit form and the review page."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from essaim.actors.models import Membership, PendingChange, Source, Status, StructureClaim, StructureRevision
from tests.browser.conftest import screenshot
from tests.browser.test_shell import axe_violations, describe
from tests.demo.cog_sample import load_cog_sample
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def card():
    load_cog_sample()
    structure = StructureFactory(name="La Rafistolerie", status=Status.PUBLISHED, phone="01 00 00 00 00")
    member = UserFactory()
    Membership.objects.create(user=member, structure=structure)
    return structure, member, FacilitatorFactory()


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


def test_member_edit_then_facilitator_approval(page, live_server, card):
    structure, member, facilitator = card
    log_in(page, live_server, member)
    page.goto(live_server.url + reverse("actors:detail", args=[structure.slug]))
    page.get_by_role("button", name="Modifier la fiche").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Modifier la fiche")
    # Not wait_for_function: its polling evaluates a string, which the CSP forbids.
    page.wait_for_load_state("load")

    page.get_by_label("Téléphone").fill("05 61 00 00 00")
    combobox = page.get_by_role("combobox", name="Commune")
    combobox.focus()
    page.keyboard.type("Castanet", delay=30)
    option = page.get_by_role("option").filter(has_text="Castanet-Tolosan")
    expect(option).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(combobox).to_have_value("Castanet-Tolosan (31)")
    screenshot(page, "moderation-edit")
    page.get_by_role("button", name="Proposer ces modifications").click()
    expect(page.get_by_role("status").filter(has_text="relira")).to_be_visible()
    revision = StructureRevision.objects.get()
    assert set(revision.changes) == {"phone", "commune"}

    log_in(page, live_server, facilitator)
    page.goto(live_server.url + reverse("actors:moderation"))
    page.get_by_role("button", name="Relire et décider").click()
    table = page.get_by_role("table", name="Modifications proposées, champ par champ")
    expect(table).to_contain_text("05 61 00 00 00")
    expect(table).to_contain_text("01 00 00 00 00")
    screenshot(page, "moderation-review")
    page.get_by_role("button", name="Tout accepter").click()
    expect(page.get_by_role("status").filter(has_text="Proposition acceptée")).to_be_visible()

    page.goto(live_server.url + reverse("actors:detail", args=[structure.slug]))
    expect(page.locator("main")).to_contain_text("05 61 00 00 00")
    expect(page.locator("main")).to_contain_text("Castanet-Tolosan")
    screenshot(page, "moderation-card")
    page.probe.assert_clean()


def test_axe_on_the_edit_form_and_the_review_page(audit_page, axe_path, live_server, card):
    structure, member, facilitator = card
    log_in(audit_page, live_server, member)
    audit_page.goto(live_server.url + reverse("actors:edit", args=[structure.slug]))
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], describe(violations)
    audit_page.get_by_label("Téléphone").fill("05 61 00 00 00")
    audit_page.get_by_role("button", name="Proposer ces modifications").click()
    revision = StructureRevision.objects.get()
    # Every kind of item in the queue: a claim and an import change too.
    StructureClaim.objects.create(user=UserFactory(), structure=structure, message="Bénévole")
    PendingChange.objects.create(
        structure=structure,
        field="naf_code",
        old_value="88.99B",
        new_value="94.99Z",
        source=Source.SIRENE,
        created_at=timezone.now(),
    )

    log_in(audit_page, live_server, facilitator)
    for url in (
        reverse("actors:revision_review", args=[revision.pk]),
        reverse("actors:moderation"),
        reverse("actors:history", args=[structure.slug]),
        reverse("actors:new"),
    ):
        audit_page.goto(live_server.url + url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"
