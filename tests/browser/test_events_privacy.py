"""Registration data in a real browser: answer custom questions on a phone; axe-core on the question,
message, public list and personal data pages."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from essaim.events import questions, services
from essaim.events.models import QuestionKind, Registration
from tests.browser.conftest import assert_fits_width
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe
from tests.events.conftest import make_event
from tests.factories import FacilitatorFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def event_with_questions():
    event = make_event(title="Journée des clubs", capacity=10)
    services.registration_create(
        event=event, full_name="Camille Publique", email="camille@exemple.fr", public_listing=True
    )
    questions.question_save(
        event=event,
        actor=None,
        label="Repas",
        kind=QuestionKind.SINGLE_CHOICE,
        choices="Standard\nVégétarien",
        required=True,
    )
    questions.question_save(
        event=event,
        actor=None,
        label="Ateliers qui vous intéressent",
        kind=QuestionKind.MULTIPLE_CHOICE,
        choices="Mobilité\nAlimentation",
        help_text="Plusieurs choix possibles.",
    )
    questions.question_save(event=event, actor=None, label="Covoiturage", kind=QuestionKind.YES_NO)
    return event


def test_answer_the_questions_on_a_phone(mobile_page, live_server, event_with_questions):
    page = mobile_page
    page.goto(live_server.url + reverse("events:register", args=[event_with_questions.slug]))
    page.get_by_label("Nom et prénom").fill("Dominique Martin")
    page.get_by_label("Adresse électronique").fill("dominique@exemple.fr")
    page.get_by_label("J'accepte que mes nom").check()
    page.get_by_role("button", name="Valider mon inscription").click()
    expect(page.get_by_text("Cette question demande une réponse.")).to_be_visible()

    page.get_by_role("group", name="Repas").get_by_label("Végétarien").check()
    page.get_by_role("group", name="Ateliers qui vous intéressent").get_by_label("Alimentation").check()
    page.get_by_role("group", name="Covoiturage").get_by_label("Oui").check()
    page.get_by_label("J'accepte que mes nom").check()
    page.get_by_role("button", name="Valider mon inscription").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Inscription confirmée")
    registration = Registration.objects.get(email="dominique@exemple.fr")
    assert sorted(registration.answers.values_list("value", flat=True)) == [
        "Alimentation",
        "Végétarien",
        "oui",
    ]
    assert_fits_width(page)
    page.probe.assert_clean()


def test_axe_on_registration_data_pages(audit_page, axe_path, live_server, event_with_questions):
    slug = event_with_questions.slug
    pages = [reverse("events:register", args=[slug]), reverse("events:public_participants", args=[slug])]
    for url in pages:
        audit_page.goto(live_server.url + url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"

    log_in(audit_page, live_server, FacilitatorFactory())
    for url in (
        reverse("events:questions", args=[slug]),
        reverse("events:messages", args=[slug]),
        reverse("events:participants", args=[slug]),
        reverse("events:report", args=[slug]),
        reverse("events:my_data"),
    ):
        audit_page.goto(live_server.url + url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{url}\n{describe(violations)}"


def test_axe_on_personal_data_page(audit_page, axe_path, live_server, event_with_questions):
    user = UserFactory(email="camille@exemple.fr")
    Registration.objects.filter(email="camille@exemple.fr").update(user=user)  # registered while signed in
    log_in(audit_page, live_server, user)
    audit_page.goto(live_server.url + reverse("events:my_data"))
    expect(audit_page.get_by_role("heading", level=1)).to_contain_text("Mes inscriptions")
    expect(audit_page.get_by_role("link", name="Journée des clubs")).to_be_visible()
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], describe(violations)
