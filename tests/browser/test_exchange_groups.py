"""Group purchases and shared jobs in a real browser: a member joins a group purchase and the initiator sees
the order; axe-core and the 320 px reflow on the group-purchase and shared-job pages."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from essaim.actors.models import Membership
from essaim.exchange import group_purchases as gp
from essaim.exchange.shared_jobs import shared_job_set
from tests.browser.conftest import assert_fits_width, screenshot
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe
from tests.exchange.conftest import make_listing
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def member_of(name):
    structure = StructureFactory(name=name)
    user = UserFactory()
    Membership.objects.create(user=user, structure=structure)
    return structure, user


@pytest.fixture
def purchase():
    structure, initiator = member_of("Épicerie solidaire")
    listing = make_listing(structure=structure, direction="need", kind="group_purchase", title="Paniers bio")
    purchase = gp.group_purchase_configure(
        listing=listing,
        actor=None,
        deadline=timezone.now() + datetime.timedelta(days=7),
        products=[
            gp.ProductInput(label="Panier de légumes", unit="panier", unit_price_cents=1250),
            gp.ProductInput(label="Pommes", unit="kg"),
        ],
    )
    purchase.initiator = initiator
    return purchase


def test_member_joins_and_initiator_sees_the_order(page, live_server, purchase):
    _, member = member_of("Café associatif")
    log_in(page, live_server, member)
    page.goto(live_server.url + reverse("exchange:detail", args=[purchase.listing.pk]))
    page.get_by_role("link", name="Voir l'achat groupé et y participer").click()
    page.get_by_role("link", name="participer à l'achat groupé").click()
    page.get_by_label("Panier de légumes").fill("3")
    page.get_by_role("button", name="Participer").click()

    expect(page.locator("[data-total]").first).to_contain_text("3 panier")
    expect(page.locator("body")).not_to_contain_text("Commande par structure")
    page.probe.assert_clean()

    page.context.clear_cookies()
    log_in(page, live_server, purchase.initiator)
    page.goto(live_server.url + reverse("exchange:group_purchase", args=[purchase.listing.pk]))
    order = page.locator(".group-purchase-order")
    expect(order).to_contain_text("Café associatif")
    expect(order).to_contain_text("37,50")
    screenshot(page, "group-purchase-initiator")
    page.probe.assert_clean()


def test_axe_and_reflow_on_group_pages(audit_page, mobile_page, axe_path, live_server, purchase):
    cafe, cafe_member = member_of("Café associatif")
    gp.group_purchase_join(
        purchase=purchase,
        structure=cafe,
        actor=None,
        quantities={purchase.products.first().pk: Decimal("2")},
    )
    jobs = []
    for name in ("Atelier", "Bureau"):
        structure, _ = member_of(name)
        listing = make_listing(structure=structure, direction="need", kind="shared_job", title="Comptable")
        shared_job_set(listing=listing, actor=None, job_title="Comptable", fte=Decimal("0.3"))
        jobs.append(listing)
    checks = [
        (
            purchase.initiator,
            [
                reverse("exchange:group_purchase", args=[purchase.listing.pk]),
                reverse("exchange:group_purchase_setup", args=[purchase.listing.pk]),
            ],
        ),
        (
            cafe_member,
            [reverse("exchange:group_purchase_participate", args=[purchase.listing.pk, cafe.slug])],
        ),
        (
            FacilitatorFactory(),
            [
                reverse("exchange:shared_job_groups"),
                reverse("exchange:detail", args=[jobs[0].pk]),
                reverse("exchange:shared_job_edit", args=[jobs[0].pk]),
            ],
        ),
    ]
    for user, urls in checks:
        for page in (audit_page, mobile_page):
            page.context.clear_cookies()
            log_in(page, live_server, user)
        for url in urls:
            audit_page.goto(live_server.url + url)
            violations = axe_violations(audit_page, axe_path)
            assert violations == [], f"{url}\n{describe(violations)}"
            mobile_page.goto(live_server.url + url)
            assert_fits_width(mobile_page)
            screenshot(audit_page, "groups" + url.replace("/", "-"))
    mobile_page.probe.assert_clean()
