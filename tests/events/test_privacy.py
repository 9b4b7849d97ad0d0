"""Privacy of participants: public list on opt-in, retention purge keeping the report exact, a person's export
and deletion of their registrations (from their account or from a registration's signed link)."""

import csv
import datetime
import io
import json
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import User
from essaim.actors.models import Family
from essaim.core.models import AuditLogEntry
from essaim.events import privacy, questions, services
from essaim.events.models import (
    Answer,
    Attendance,
    QuestionKind,
    Registration,
    RegistrationStatus,
    Visibility,
)
from essaim.events.reports import event_report, report_rows
from essaim.events.tasks import purge_participants_personal_data
from tests.events.conftest import at, make_event
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def register(event, name, email, **kwargs):
    return services.registration_create(event=event, full_name=name, email=email, **kwargs)


# --- Public participant list ------------------------------------------------------------------------------


def test_public_list_shows_opted_in_confirmed_people_without_emails(client):
    event = make_event(capacity=3)
    register(event, "Alice Visible", "alice@exemple.fr", public_listing=True, structure_name="Ressourcerie")
    register(event, "Bruno Discret", "bruno@exemple.fr")
    cancelled = register(event, "Chloé Partie", "chloe@exemple.fr", public_listing=True)
    services.registration_cancel(registration=cancelled)
    register(
        event, "Dan Attente", "dan@exemple.fr", public_listing=True
    )  # confirmed: the 3rd place was freed
    register(event, "Eve Attente", "eve@exemple.fr", public_listing=True)  # waiting: not listed

    html = client.get(reverse("events:public_participants", args=[event.slug])).content.decode()
    assert "Alice Visible" in html and "Ressourcerie" in html and "Dan Attente" in html
    for hidden in ("Bruno Discret", "Chloé Partie", "Eve Attente", "@exemple.fr"):
        assert hidden not in html
    detail = client.get(reverse("events:detail", args=[event.slug])).content.decode()
    assert reverse("events:public_participants", args=[event.slug]) in detail
    assert "2 personnes inscrites acceptent" in detail


def test_no_link_without_opt_in_and_opt_in_is_off_by_default(client):
    event = make_event()
    response = client.post(
        reverse("events:register", args=[event.slug]),
        {"full_name": "Camille", "email": "camille@exemple.fr", "consent": "on"},
    )
    assert response.status_code == 200
    assert Registration.objects.get().public_listing is False
    detail = client.get(reverse("events:detail", args=[event.slug])).content.decode()
    assert reverse("events:public_participants", args=[event.slug]) not in detail
    html = client.get(reverse("events:public_participants", args=[event.slug])).content.decode()
    assert "Camille" not in html and "Personne n'a encore accepté" in html


def test_public_list_follows_the_events_visibility(client):
    event = make_event(visibility=Visibility.MEMBERS)
    register(event, "Alice Visible", "alice@exemple.fr", public_listing=True)
    url = reverse("events:public_participants", args=[event.slug])
    assert client.get(url).status_code == 404
    client.force_login(UserFactory())
    assert "Alice Visible" in client.get(url).content.decode()


def test_participants_list_stays_for_organisers_and_facilitators(client):
    event = make_event()
    register(event, "Alice Visible", "alice@exemple.fr", public_listing=True)
    url = reverse("events:participants", args=[event.slug])
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(FacilitatorFactory())
    assert (
        "alice@exemple.fr"
        not in client.get(reverse("events:public_participants", args=[event.slug])).content.decode()
    )
    assert client.get(url).status_code == 200


# --- Retention purge --------------------------------------------------------------------------------------


def past_event_with_everything(days_ago: int, title="Bouillon de territoire"):
    """A past event with categories, structures (Annuaire and typed), communes, elected officials, walk-ins,
    absent/excused people, waiting and cancelled registrations, answers and opt-ins."""
    facilitator = FacilitatorFactory()
    start = at(-days_ago, 9)
    event = make_event(title=title, start=start, end=start + datetime.timedelta(hours=8), capacity=5)
    partner = StructureFactory(name="Conseil départemental", family=Family.PUBLIC)
    services.event_update(event=event, actor=None, supporters=[partner])
    collectivite = services.category_add(event=event, label="Collectivité")
    acteur = services.category_add(event=event, label="Acteur de l'ESS", price_cents=2500)
    meal = questions.question_save(
        event=event,
        actor=None,
        label="Repas",
        kind=QuestionKind.SINGLE_CHOICE,
        choices="Standard\nVégétarien",
    )
    note = questions.question_save(event=event, actor=None, label="Remarque", kind=QuestionKind.SHORT_TEXT)
    structure = StructureFactory(name="Ressourcerie du Quercy")
    rows = [
        ("Alice", collectivite, partner, "", True, Attendance.PRESENT, "Standard"),
        ("Bruno", acteur, structure, "", False, Attendance.PRESENT, "Végétarien"),
        ("Chloé", acteur, None, "Café associatif", False, Attendance.PRESENT, "Standard"),
        ("Dan", acteur, None, "café  ASSOCIATIF", False, Attendance.ABSENT, "Standard"),
        ("Eve", collectivite, None, "", True, Attendance.EXCUSED, "Végétarien"),
        ("Fanny", acteur, None, "", False, Attendance.UNKNOWN, "Standard"),  # waiting
        ("Gaël", acteur, None, "", False, Attendance.UNKNOWN, "Standard"),  # cancelled
    ]
    user = User.objects.filter(email="alice@exemple.fr").first() or UserFactory(email="alice@exemple.fr")
    for name, category, annuaire, typed, elected, attendance, answer in rows:
        registration = services.registration_create(
            event=event,
            full_name=f"{name} {title}",
            email=f"{name.lower().encode('ascii', 'ignore').decode()}@exemple.fr",
            category=category,
            structure=annuaire,
            structure_name=typed,
            is_elected=elected,
            user=user if name == "Alice" else None,
            actor=facilitator,
            by_facilitator=True,
            public_listing=True,
            answers={meal.pk: answer, note.pk: f"Note de {name}"},
        )
        if attendance != Attendance.UNKNOWN:
            services.registration_set_attendance(registration=registration, attendance=attendance, actor=None)
        if name == "Gaël":
            services.registration_cancel(registration=registration)
    services.registration_walk_in(
        event=event, full_name=f"Hugo {title}", actor=facilitator, category=collectivite, is_elected=True
    )
    return event


def snapshot(event):
    """Everything the report shows (figures, lists, per category/commune/EPCI) and the answers' tally."""
    report = event_report(event)
    figures = {key: value for key, value in vars(report).items() if key != "events"}
    tallies = [(t.question.pk, t.answered, t.counts) for t in questions.question_tallies(event)]
    return figures, report_rows(report), tallies


def test_purge_anonymises_old_events_and_keeps_the_report_exactly(settings, client):
    settings.ESSAIM_EVENTS_RETENTION_MONTHS = 24
    old = past_event_with_everything(800, title="Ancien")
    recent = past_event_with_everything(690, title="Récent")
    old_registration = old.registrations.get(full_name="Alice Ancien")
    old_link = reverse("events:registration_manage", args=[services.cancel_signature(old_registration)])
    before = snapshot(old)
    assert before[0]["present"] == 4 and before[0]["structures"] == [
        "Café associatif",
        "Ressourcerie du Quercy",
    ]
    assert before[0]["partners"] == ["Conseil départemental"] and before[0]["elected_present"] == 2

    assert privacy.events_retention_purge() == 8
    assert snapshot(old) == before  # the bilan is exactly the same

    for registration in old.registrations.all():
        assert registration.full_name == privacy.ANONYMOUS_NAME
        assert (registration.email, registration.search_name, registration.user_id) == ("", "", None)
        assert registration.public_listing is False and registration.anonymised_at is not None
    assert not Answer.objects.filter(question__event=old, question__kind=QuestionKind.SHORT_TEXT).exists()
    assert not Answer.objects.filter(registration__event=old).exists()  # choice answers detached
    assert not AuditLogEntry.objects.filter(
        object_type="events.registration", object_repr__contains="Ancien"
    ).exists()
    assert client.get(old_link).status_code == 404  # the signed link died with the token

    # Recent events are untouched; a second run does nothing.
    assert recent.registrations.filter(anonymised_at__isnull=True).count() == 8
    assert Answer.objects.filter(registration__event=recent).count() == 14
    assert privacy.events_retention_purge() == 0
    assert AuditLogEntry.objects.filter(verb="events.registrations.purged", data__count=8).count() == 1


def test_purge_delay_comes_from_the_setting_and_zero_disables_it(settings):
    event = past_event_with_everything(400)
    settings.ESSAIM_EVENTS_RETENTION_MONTHS = 0
    purge_participants_personal_data.call_local()
    assert not event.registrations.filter(anonymised_at__isnull=False).exists()
    settings.ESSAIM_EVENTS_RETENTION_MONTHS = 12
    purge_participants_personal_data.call_local()
    assert not event.registrations.filter(anonymised_at__isnull=True).exists()


def test_months_before_handles_month_ends():
    moment = timezone.make_aware(datetime.datetime(2026, 3, 31, 12))
    assert privacy.months_before(moment, 1).date() == datetime.date(2026, 2, 28)
    assert privacy.months_before(moment, 24).date() == datetime.date(2024, 3, 31)
    assert privacy.months_before(moment, 3).date() == datetime.date(2025, 12, 31)


# --- A person's data: export and deletion -----------------------------------------------------------------


@pytest.fixture
def person():
    """Alice's account; a past event she attended and a future one, both from her account; a third made with
    her address without signing in; someone else's registration, waiting for Alice's place."""
    past = past_event_with_everything(30, title="Passé")
    alice = past.registrations.get(full_name="Alice Passé").user
    future = make_event(title="À venir", capacity=1)
    question = questions.question_save(
        event=future, actor=None, label="Remarque", kind=QuestionKind.SHORT_TEXT
    )
    mine = register(
        future, "Alice Martin", "Alice@Exemple.fr", user=alice, answers={question.pk: "Rampe d'accès"}
    )
    waiting = register(future, "Zoé Autre", "zoe@exemple.fr")
    unlinked = register(make_event(title="Sans compte"), "Alice M.", "alice@exemple.fr")
    return {
        "user": alice,
        "past": past,
        "future": future,
        "mine": mine,
        "waiting": waiting,
        "unlinked": unlinked,
    }


def test_signed_in_person_exports_their_registrations(client, person):
    url = reverse("events:my_data_export", args=["json"])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(person["user"])
    response = client.get(url)
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(response.content)
    titles = sorted(row["evenement"] for row in data["inscriptions"])
    assert titles == ["Passé", "À venir"]
    future = next(row for row in data["inscriptions"] if row["evenement"] == "À venir")
    assert future["reponses"] == {"Remarque": ["Rampe d'accès"]} and future["courriel"] == "alice@exemple.fr"
    assert "zoe@exemple.fr" not in response.content.decode()
    # Not the registration made with her address without an account: sign-up does not verify addresses.
    assert "Sans compte" not in response.content.decode()

    response = client.get(reverse("events:my_data_export", args=["csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["evenement", "debut", "fin"] and len(rows) == 3
    assert client.get(reverse("events:my_data_export", args=["xml"])).status_code == 404


def test_signed_in_person_deletes_their_data(client, person, django_capture_on_commit_callbacks):
    past_before = snapshot(person["past"])
    client.force_login(person["user"])
    url = reverse("events:my_data")
    html = client.get(url).content.decode()
    assert "Passé" in html and "À venir" in html and "Zoé" not in html

    response = client.post(url, {})
    assert "Cochez la case pour confirmer la suppression." in response.content.decode()
    assert not Registration.objects.filter(anonymised_at__isnull=False).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"confirm": "on"}, follow=True)
    assert "Données effacées de 2 inscriptions (1 inscription à venir annulée)." in response.content.decode()
    mine = Registration.objects.get(pk=person["mine"].pk)
    assert (mine.status, mine.full_name, mine.email) == (
        RegistrationStatus.CANCELLED,
        privacy.ANONYMOUS_NAME,
        "",
    )
    assert not mine.answers.exists() and not Answer.objects.filter(question__event=person["future"]).exists()
    person["waiting"].refresh_from_db()
    assert person["waiting"].status == RegistrationStatus.OFFERED  # her place went to the waiting list
    assert snapshot(person["past"]) == past_before
    assert not Registration.objects.filter(user=person["user"]).exists()
    assert Registration.objects.filter(email="zoe@exemple.fr", anonymised_at__isnull=True).exists()
    assert Registration.objects.filter(pk=person["unlinked"].pk, anonymised_at__isnull=True).exists()
    assert "Aucune inscription" in client.get(url).content.decode()


def test_person_without_account_uses_the_signed_link(client, person, django_capture_on_commit_callbacks):
    """The link of one registration (in its emails, which get forwarded) covers that registration only."""
    mail.outbox.clear()
    signature = services.cancel_signature(person["mine"])
    manage = reverse("events:registration_manage", args=[signature])
    data_url = reverse("events:manage_data", args=[signature])
    assert data_url in client.get(manage).content.decode()

    response = client.get(reverse("events:manage_data_export", args=[signature, "json"]))
    titles = sorted(row["evenement"] for row in json.loads(response.content)["inscriptions"])
    assert titles == ["À venir"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(data_url, {"confirm": "on"})
    assert response["Location"] == reverse("events:detail", args=[person["future"].slug])
    assert Registration.objects.filter(email="alice@exemple.fr").count() == 2  # the others stay
    assert client.get(data_url).status_code == 404
    assert client.get(manage).status_code == 404
    assert any("annulée" in m.subject for m in mail.outbox)  # the cancellation is confirmed by email


def test_every_registration_of_an_address_through_a_link_sent_to_it(
    client, person, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    data_url = reverse("events:manage_data", args=[services.cancel_signature(person["mine"])])
    assert "M'envoyer ce lien" in client.get(data_url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(data_url, {"action": "send_link"}, follow=True)
    assert "Un lien vers toutes les inscriptions faites avec" in response.content.decode()
    (sent,) = mail.outbox
    assert sent.to == ["alice@exemple.fr"]
    link = re.search(r"http\S+/mes-inscriptions/\S+/", sent.body).group(0)
    path = link.split("testserver", 1)[-1]

    assert "alice" not in path  # the address is not readable in the link
    html = client.get(path).content.decode()
    assert "Passé" in html and "Sans compte" in html and "À venir" in html and "Zoé" not in html
    response = client.get(path + "export.json")
    titles = sorted(row["evenement"] for row in json.loads(response.content)["inscriptions"])
    assert titles == ["Passé", "Sans compte", "À venir"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {"confirm": "on"}, follow=True)
    assert "Données effacées de 3 inscriptions" in response.content.decode()
    assert Registration.objects.filter(email="alice@exemple.fr").count() == 0

    # The data is gone, and the link with it; a forged link never worked.
    assert client.get(path).status_code == 404
    assert client.get(path.replace("/mes-inscriptions/", "/mes-inscriptions/x")).status_code == 404


def test_the_link_to_every_registration_expires_after_a_day(client, person, monkeypatch):
    path = reverse("events:email_data", args=[privacy.email_data_signature(person["mine"])])
    assert client.get(path).status_code == 200
    monkeypatch.setattr(privacy, "EMAIL_DATA_MAX_AGE", -1)
    assert client.get(path).status_code == 404


def test_no_link_for_a_registration_without_address(client, person):
    registration = services.registration_create(
        event=person["future"], full_name="Sans courriel", email="", by_facilitator=True
    )
    data_url = reverse("events:manage_data", args=[services.cancel_signature(registration)])
    assert "M'envoyer ce lien" not in client.get(data_url).content.decode()
    response = client.post(data_url, {"action": "send_link"}, follow=True)
    assert "aucun lien à envoyer" in response.content.decode()
    assert not mail.outbox or all("Vos inscriptions" not in m.subject for m in mail.outbox)


def test_links_to_every_registration_are_rate_limited(client, person):
    data_url = reverse("events:manage_data", args=[services.cancel_signature(person["mine"])])
    statuses = [client.post(data_url, {"action": "send_link"}).status_code for _ in range(6)]
    assert statuses == [302] * 5 + [429]


def test_forged_signed_link_is_refused(client):
    assert client.get(reverse("events:manage_data", args=["forged:value"])).status_code == 404
    assert client.get(reverse("events:manage_data_export", args=["forged:value", "json"])).status_code == 404


def test_privacy_page_states_the_retention_delay(client, settings):
    settings.ESSAIM_EVENTS_RETENTION_MONTHS = 18
    html = client.get(reverse("www:privacy")).content.decode()
    assert "18 mois après l'événement, puis anonymisées automatiquement" in html


def test_deletion_from_a_members_only_events_link_lands_on_a_visible_page(
    client, django_capture_on_commit_callbacks
):
    event = make_event(title="Réservé aux membres", visibility=Visibility.MEMBERS)
    registration = register(event, "Alice Martin", "alice@exemple.fr")
    data_url = reverse("events:manage_data", args=[services.cancel_signature(registration)])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(data_url, {"confirm": "on"}, follow=True)

    assert response.status_code == 200  # not the event's page: it is a 404 for a visitor without account
    assert response.redirect_chain[-1][0] == reverse("www:home")
    assert "Données effacées de 1 inscription (1 inscription à venir annulée)." in response.content.decode()


def test_a_person_checked_in_as_present_is_anonymised_not_cancelled(client, person):
    """The bilan keeps counting them: deleting one's data does not cancel a registration checked in as
    present, even before the event is over."""
    services.registration_set_attendance(registration=person["mine"], attendance="present", actor=None)
    client.force_login(person["user"])

    client.post(reverse("events:my_data"), {"confirm": "on"})

    mine = Registration.objects.get(pk=person["mine"].pk)
    assert (mine.status, mine.attendance, mine.full_name) == (
        RegistrationStatus.CONFIRMED,
        "present",
        privacy.ANONYMOUS_NAME,
    )
    person["waiting"].refresh_from_db()
    assert person["waiting"].status == RegistrationStatus.WAITING
