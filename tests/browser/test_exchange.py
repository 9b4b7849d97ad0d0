"""Offres & besoins in a real browser: a member publishes a need and sees a suggestion with its reasons;
axe-core on the list, listing and form pages."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from essaim.actors.models import Membership
from essaim.core.models import OutgoingEmail
from essaim.exchange import contacts, services
from essaim.exchange.models import Match
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe
from tests.exchange.conftest import make_listing
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def member():
    structure = StructureFactory(name="Centre social")
    user = UserFactory()
    Membership.objects.create(user=user, structure=structure)
    return user


def test_publish_a_need_and_see_a_suggestion_with_reasons(page, live_server, member):
    make_listing(structure=StructureFactory(name="Tiers-lieu"), kind="premises", title="Salle de réunion")
    structure = member.memberships.get().structure
    log_in(page, live_server, member)
    page.goto(live_server.url + reverse("actors:detail", args=[structure.slug]))
    page.get_by_role("link", name="Publier une offre ou un besoin").click()

    page.get_by_label("Sens").select_option(label="Besoin")
    page.get_by_label("Type").select_option(label="Local ou espace")
    page.get_by_label("Titre").fill("Une salle pour notre réunion")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("button", name="Publier").click()

    expect(page.locator("#suggestions")).to_be_visible()
    suggestions = page.locator(".suggestions")
    expect(suggestions).to_contain_text("Salle de réunion")
    expect(suggestions).to_contain_text("mots en commun : reunion, salle")
    page.probe.assert_clean()


def test_axe_finds_no_serious_violation_on_exchange_pages(audit_page, axe_path, live_server, member):
    listing = make_listing(structure=member.memberships.get().structure, title="Remorque à prêter")
    log_in(audit_page, live_server, member)
    for url in (
        reverse("exchange:list") + "?territoire=tous",
        reverse("exchange:detail", args=[listing.pk]),
        reverse("exchange:edit", args=[listing.pk]),
    ):
        audit_page.goto(live_server.url + url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"


def test_publish_a_need_see_suggestions_and_contact_the_other_structure(page, live_server, member):
    """The whole journey: publish a need, read the suggestion's reasons, write to the offering structure."""
    owner = UserFactory(email="tiers-lieu@exemple.fr")
    tiers_lieu = StructureFactory(name="Tiers-lieu du Quercy")
    Membership.objects.create(user=owner, structure=tiers_lieu)
    offer = make_listing(structure=tiers_lieu, kind="premises", title="Salle de réunion partagée")
    structure = member.memberships.get().structure
    log_in(page, live_server, member)
    page.goto(live_server.url + reverse("exchange:create", args=[structure.slug]))
    page.get_by_label("Sens").select_option(label="Besoin")
    page.get_by_label("Type").select_option(label="Local ou espace")
    page.get_by_label("Titre").fill("Salle de réunion pour notre assemblée")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_role("button", name="Publier").click()

    suggestions = page.locator(".suggestions")
    expect(suggestions).to_contain_text("Salle de réunion partagée")
    expect(suggestions).to_contain_text("mots en commun")
    suggestions.get_by_role("link", name="Salle de réunion partagée").click()

    page.get_by_role("button", name="Entrer en relation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Entrer en relation avec Tiers-lieu du Quercy")
    page.get_by_label("Votre message").fill("Bonjour, nous cherchons une salle pour notre assemblée de mars.")
    page.get_by_role("button", name="Envoyer le message").click()

    expect(page.locator(".conversation")).to_contain_text("nous cherchons une salle")
    expect(page.get_by_text("Contact pris", exact=True)).to_be_visible()
    # The sender does not see the recipient's address before the answer.
    expect(page.locator("main")).not_to_contain_text(owner.email)
    match = Match.objects.get(listing=offer)
    assert match.status == "contacted"
    assert OutgoingEmail.objects.addressed_to(owner.email).exists()
    page.probe.assert_clean()


def test_axe_finds_no_serious_violation_on_the_conversation_pages(audit_page, axe_path, live_server, member):
    listing = make_listing(structure=StructureFactory(name="Ressourcerie"), title="Étagères à donner")
    match, _ = contacts.contact_send(
        listing=listing,
        sender_structure=member.memberships.get().structure,
        actor=member,
        body="Bonjour, nous aimerions récupérer vos étagères.",
    )
    closed = make_listing(structure=member.memberships.get().structure, title="Tables pliantes")
    services.listing_fulfil(listing=closed, actor=member)
    log_in(audit_page, live_server, member)
    for url in (
        reverse("exchange:match_detail", args=[match.pk]),
        reverse("exchange:match_list"),
        reverse("exchange:contact", args=[make_listing(structure=listing.structure, title="Chaises").pk]),
        reverse("exchange:detail", args=[closed.pk]),  # with the question of what came of it
        reverse("exchange:outcome", args=[closed.pk]),
    ):
        audit_page.goto(live_server.url + url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"
    log_in(audit_page, live_server, FacilitatorFactory())
    for url in (
        reverse("exchange:outcome_stats") + "?territoire=tous",
        reverse("exchange:match_introduce", args=[listing.pk]),
        reverse("exchange:match_detail", args=[match.pk]),
    ):
        audit_page.goto(live_server.url + url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"
