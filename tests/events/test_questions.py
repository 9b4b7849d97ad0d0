"""Custom registration questions: definition by organisers, the registration form, answers, tally, export."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from essaim.actors.models import Membership
from essaim.core.models import AuditLogEntry
from essaim.events import questions, services
from essaim.events.models import Answer, Question, QuestionKind, Registration
from tests.events.conftest import make_event
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def organiser_of(event):
    structure = StructureFactory()
    services.event_update(event=event, actor=None, organisers=[structure])
    user = UserFactory()
    Membership.objects.create(user=user, structure=structure)
    return user


def add_questions(event):
    """One question of each kind; the meal and the workshops are required."""
    save = questions.question_save
    return {
        "org": save(
            event=event, actor=None, label="Votre fonction", kind=QuestionKind.SHORT_TEXT, position=1
        ),
        "attentes": save(
            event=event, actor=None, label="Vos attentes", kind=QuestionKind.LONG_TEXT, position=2
        ),
        "repas": save(
            event=event,
            actor=None,
            label="Repas",
            kind=QuestionKind.SINGLE_CHOICE,
            choices="Végétarien\nStandard\n\nStandard",
            required=True,
            position=3,
        ),
        "ateliers": save(
            event=event,
            actor=None,
            label="Ateliers qui vous intéressent",
            kind=QuestionKind.MULTIPLE_CHOICE,
            choices="Mobilité\nAlimentation\nEmploi",
            position=4,
        ),
        "covoit": save(
            event=event,
            actor=None,
            label="Covoiturage ?",
            kind=QuestionKind.YES_NO,
            required=True,
            position=5,
        ),
    }


def register(event, n, answers=None, **kwargs):
    return services.registration_create(
        event=event, full_name=f"Personne {n}", email=f"p{n}@exemple.fr", answers=answers, **kwargs
    )


# --- Service ----------------------------------------------------------------------------------------------


def test_question_save_cleans_choices_and_validates_in_french():
    event = make_event()
    q = add_questions(event)
    assert q["repas"].choice_list == ["Végétarien", "Standard"]
    assert q["org"].choices == ""
    with pytest.raises(ValidationError) as error:
        questions.question_save(event=event, actor=None, label="Choix ?", kind=QuestionKind.SINGLE_CHOICE)
    assert "Indiquez au moins un choix" in str(error.value)
    with pytest.raises(ValidationError, match="ne peut pas être vide"):
        questions.question_save(event=event, actor=None, label=" ", kind=QuestionKind.SHORT_TEXT)
    assert AuditLogEntry.objects.filter(verb="events.question.created").count() == 5


def test_kind_cannot_change_once_answered():
    event = make_event()
    q = add_questions(event)
    register(event, 1, {q["repas"].pk: "Standard", q["covoit"].pk: "oui"})
    with pytest.raises(ValidationError, match="ne peut plus changer"):
        questions.question_save(event=event, question=q["repas"], actor=None, kind=QuestionKind.SHORT_TEXT)
    # Other changes stay possible.
    questions.question_save(event=event, question=q["repas"], actor=None, label="Votre repas")
    assert Question.objects.get(pk=q["repas"].pk).label == "Votre repas"


def test_answers_are_validated_and_stored():
    event = make_event()
    q = add_questions(event)
    registration = register(
        event,
        1,
        {
            q["org"].pk: "  Chargée de mission ",
            q["repas"].pk: "Végétarien",
            q["ateliers"].pk: ["Emploi", "Mobilité"],
            q["covoit"].pk: "non",
        },
    )
    stored = {a.question_id: a.value for a in registration.answers.all()}
    assert stored == {
        q["org"].pk: "Chargée de mission",
        q["repas"].pk: "Végétarien",
        q["ateliers"].pk: "Mobilité\nEmploi",  # in the order of the choices
        q["covoit"].pk: "non",
    }


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"covoit": "oui"}, "Cette question demande une réponse."),  # the meal is required
        ({"repas": "Poisson", "covoit": "oui"}, "Choisissez parmi les réponses proposées."),
        ({"repas": "Standard", "covoit": "peut-être"}, "Répondez par oui ou par non."),
        ({"repas": "Standard", "covoit": "oui", "ateliers": ["Danse"]}, "Choisissez parmi les réponses"),
        ({"repas": "Standard", "covoit": "oui", "org": "x" * 301}, "trop longue"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_saved(answers, message):
    event = make_event()
    q = add_questions(event)
    with pytest.raises(ValidationError) as error:
        register(event, 1, {q[key].pk: value for key, value in answers.items()})
    assert message in str(error.value)
    assert not Registration.objects.exists() and not Answer.objects.exists()


def test_answer_to_another_events_question_is_refused():
    event, other = make_event(), make_event(title="Autre")
    foreign = questions.question_save(event=other, actor=None, label="Q", kind=QuestionKind.SHORT_TEXT)
    with pytest.raises(ValidationError, match="n'appartient pas"):
        register(event, 1, {foreign.pk: "x"})


def test_a_facilitator_may_leave_required_questions_empty():
    event = make_event()
    add_questions(event)
    registration = services.registration_create(
        event=event, full_name="Par téléphone", actor=FacilitatorFactory(), by_facilitator=True
    )
    assert registration.answers.count() == 0


def test_tally_counts_registered_people_only():
    event = make_event(capacity=2)
    q = add_questions(event)
    register(event, 1, {q["repas"].pk: "Standard", q["covoit"].pk: "oui", q["ateliers"].pk: ["Emploi"]})
    second = register(
        event,
        2,
        {q["repas"].pk: "Végétarien", q["covoit"].pk: "oui", q["ateliers"].pk: ["Emploi", "Mobilité"]},
    )
    third = register(event, 3, {q["repas"].pk: "Standard", q["covoit"].pk: "non"})
    fourth = register(event, 4, {q["repas"].pk: "Végétarien", q["covoit"].pk: "non"})
    assert fourth.status == "waiting"  # the waiting list is not counted
    services.registration_cancel(registration=second)  # cancelled: not counted...
    third.refresh_from_db()
    assert third.status == "offered"  # ... and its place, offered to the 3rd, is (like in the report)

    tallies = {t.question.label: (t.answered, t.counts) for t in questions.question_tallies(event)}
    assert set(tallies) == {"Repas", "Ateliers qui vous intéressent", "Covoiturage ?"}  # no free text
    assert tallies["Repas"] == (2, [("Végétarien", 0), ("Standard", 2)])
    assert tallies["Covoiturage ?"] == (2, [("oui", 1), ("non", 1)])
    assert tallies["Ateliers qui vous intéressent"] == (
        1,
        [("Mobilité", 0), ("Alimentation", 0), ("Emploi", 1)],
    )


def test_deleting_a_question_deletes_its_answers():
    event = make_event()
    q = add_questions(event)
    register(event, 1, {q["repas"].pk: "Standard", q["covoit"].pk: "oui"})
    questions.question_delete(question=q["repas"], actor=None)
    assert Answer.objects.count() == 1
    assert AuditLogEntry.objects.filter(verb="events.question.deleted", data__answers=1).exists()


# --- Views ------------------------------------------------------------------------------------------------


def test_registration_form_shows_the_questions_in_order_and_validates_in_french(client):
    event = make_event()
    q = add_questions(event)
    url = reverse("events:register", args=[event.slug])
    html = client.get(url).content.decode()
    positions = [html.index(label) for label in ("Votre fonction", "Vos attentes", "Repas", "Covoiturage")]
    assert positions == sorted(positions)
    assert html.index("Covoiturage") < html.index('name="consent"')  # consent stays last
    assert f'type="checkbox" name="question_{q["ateliers"].pk}"' in html
    assert 'name="public_listing"' in html and "checked" not in html.split('name="public_listing"')[1][:40]

    data = {"full_name": "Camille", "email": "camille@exemple.fr", "consent": "on"}
    response = client.post(url, {**data, f"question_{q['covoit'].pk}": "oui"})
    assert "Cette question demande une réponse." in response.content.decode()
    assert f'id="id_question_{q["repas"].pk}_error"' in response.content.decode()
    assert not Registration.objects.exists()

    response = client.post(
        url,
        {
            **data,
            f"question_{q['repas'].pk}": "Standard",
            f"question_{q['covoit'].pk}": "non",
            f"question_{q['ateliers'].pk}": ["Emploi", "Alimentation"],
        },
    )
    assert "Inscription confirmée" in response.content.decode()
    registration = Registration.objects.get()
    assert {a.question_id: a.value for a in registration.answers.all()} == {
        q["repas"].pk: "Standard",
        q["covoit"].pk: "non",
        q["ateliers"].pk: "Alimentation\nEmploi",
    }
    assert registration.public_listing is False


def test_answers_are_shown_to_organisers_only(client):
    event = make_event()
    q = add_questions(event)
    register(event, 1, {q["repas"].pk: "Végétarien", q["covoit"].pk: "oui", q["org"].pk: "Trésorière"})
    participants = reverse("events:participants", args=[event.slug])
    export = reverse("events:answers_export", args=[event.slug])

    for user in (None, UserFactory()):
        client.logout()
        if user:
            client.force_login(user)
        assert client.get(participants).status_code in (302, 404)
        assert client.get(export).status_code in (302, 404)

    client.force_login(organiser_of(event))
    html = client.get(participants).content.decode()
    assert "Trésorière" in html and "Végétarien" in html
    body = client.get(export).content.decode("utf-8-sig")
    header, row = body.splitlines()[:2]
    assert header.split(";")[5:] == [
        "Votre fonction",
        "Vos attentes",
        "Repas",
        "Ateliers qui vous intéressent",
        "Covoiturage ?",
    ]
    assert row.split(";") == [
        "Personne 1",
        "p1@exemple.fr",
        "",
        "",
        "Inscription confirmée",
        "Trésorière",
        "",
        "Végétarien",
        "",
        "oui",
    ]


def test_report_page_shows_the_tally(client):
    event = make_event()
    q = add_questions(event)
    register(event, 1, {q["repas"].pk: "Végétarien", q["covoit"].pk: "oui"})
    client.force_login(FacilitatorFactory())
    html = client.get(reverse("events:report", args=[event.slug])).content.decode()
    assert "Réponses aux questions d'inscription" in html
    assert "Repas (1 réponse)" in html


def test_organisers_manage_questions_others_get_404(client):
    event = make_event()
    url = reverse("events:questions", args=[event.slug])
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    assert client.post(url, {"form": "question", "label": "X", "kind": "short_text"}).status_code == 404
    assert not Question.objects.exists()

    client.force_login(organiser_of(event))
    response = client.post(
        url, {"form": "question", "label": "Repas", "kind": "single_choice", "position": 1}
    )
    assert "Indiquez au moins un choix, un par ligne." in response.content.decode()
    response = client.post(
        url,
        {"form": "question", "label": "Repas", "kind": "single_choice", "choices": "A\nB", "position": 1},
    )
    assert response.status_code == 302
    question = Question.objects.get()
    assert question.choice_list == ["A", "B"]

    edit = reverse("events:question_edit", args=[event.slug, question.pk])
    response = client.post(
        edit, {"label": "Votre repas", "kind": "single_choice", "choices": "A\nB\nC", "position": 2}
    )
    assert response.status_code == 302
    question.refresh_from_db()
    assert (question.label, question.choice_list) == ("Votre repas", ["A", "B", "C"])

    client.post(reverse("events:question_delete", args=[event.slug, question.pk]))
    assert not Question.objects.exists()
