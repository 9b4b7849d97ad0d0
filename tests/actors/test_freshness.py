"""Freshness loop: who is reminded, the batches, the one-click "toujours exact" link and unsubscribing."""

import datetime
import re
import time
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.actors.freshness import (
    LINK_MAX_AGE,
    RESEND_AFTER_DAYS,
    confirm_token,
    due_structures,
    freshness_send,
    structure_recipients,
    unsubscribe_token,
)
from essaim.actors.models import (
    FreshnessOptOut,
    FreshnessReminder,
    Membership,
    Source,
    Status,
    Structure,
)
from essaim.actors.tasks import send_freshness_reminders
from essaim.core.models import AuditLogEntry, OutgoingEmail
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/annuaire/fraicheur/confirmer/[^/\s]+/)")
UNSUBSCRIBE_LINK = re.compile(r"https?://[^/\s]+(/annuaire/fraicheur/desinscription/[^/\s]+/)")


def _old_date(days: int = 400) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def _due(**values) -> Structure:
    """A published card last verified more than a year ago, with a public email."""
    values.setdefault("email", "contact@exemple.org")
    values.setdefault("last_verified_at", _old_date())
    return StructureFactory(**values)


def _member(structure, **values):
    user = UserFactory(**values)
    Membership.objects.create(user=user, structure=structure)
    return user


def _emails_to(address: str) -> list[OutgoingEmail]:
    return [email for email in OutgoingEmail.objects.order_by("pk") if email.to == [address]]


def _confirm_path(structure) -> str:
    reminder = FreshnessReminder.objects.filter(structure=structure).latest("sent_at")
    return reverse("actors:freshness_confirm", args=[confirm_token(reminder)])


# -- Who is due and who is written to ------------------------------------------------------------------------


def test_due_structures_follow_the_eleven_month_rule():
    due = _due(name="Vérifiée il y a 13 mois")
    _due(name="Vérifiée il y a 10 mois", last_verified_at=_old_date(300))
    never_old = _due(name="Jamais vérifiée, ancienne", last_verified_at=None)
    Structure.objects.filter(pk=never_old.pk).update(created_at=timezone.now() - datetime.timedelta(days=400))
    _due(name="Jamais vérifiée, récente", last_verified_at=None)
    _due(name="Brouillon", status=Status.DRAFT)
    _due(name="Sans contact", email="")
    assert {s.name for s in due_structures()} == {due.name, never_old.name}


def test_a_structure_is_not_reminded_twice_within_the_resend_delay():
    structure = _due()
    reminder = FreshnessReminder.objects.create(
        structure=structure, sent_at=timezone.now(), recipient_count=1
    )
    assert structure not in due_structures()
    FreshnessReminder.objects.filter(pk=reminder.pk).update(
        sent_at=timezone.now() - datetime.timedelta(days=RESEND_AFTER_DAYS + 1)
    )
    assert structure in due_structures()


def test_members_are_written_to_rather_than_the_public_email():
    structure = _due(email="contact@exemple.org")
    active = _member(structure, email="active@exemple.org")
    _member(structure, email="fermee@exemple.org", is_active=False, deactivated_at=timezone.now())
    assert structure_recipients(structure) == [active.email]


def test_the_public_email_is_used_when_no_active_member_remains():
    structure = _due(email="Contact@Exemple.org")
    _member(structure, email="fermee@exemple.org", is_active=False, deactivated_at=timezone.now())
    assert structure_recipients(structure) == ["contact@exemple.org"]


def test_unsubscribed_addresses_are_left_out():
    structure = _due()
    _member(structure, email="a@exemple.org")
    _member(structure, email="b@exemple.org")
    FreshnessOptOut.objects.create(email="b@exemple.org")
    assert structure_recipients(structure) == ["a@exemple.org"]


# -- Sending -------------------------------------------------------------------------------------------------


def test_send_queues_one_email_per_recipient_with_the_links(settings):
    settings.ESSAIM_SITE_URL = "https://annuaire.exemple.org/"
    structure = _due(name="La Rafistolerie")
    _member(structure, email="a@exemple.org")
    _member(structure, email="b@exemple.org")

    run = freshness_send()

    assert (run.structures, run.emails, run.unreachable) == (1, 2, 0)
    reminder = FreshnessReminder.objects.get(structure=structure)
    assert reminder.recipient_count == 2 and reminder.used_at is None
    [email] = _emails_to("a@exemple.org")
    assert "La Rafistolerie" in email.subject
    assert "https://annuaire.exemple.org/annuaire/fraicheur/confirmer/" in email.body
    assert f"https://annuaire.exemple.org/annuaire/{structure.slug}/modifier/" in email.body
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert UNSUBSCRIBE_LINK.search(email.headers["List-Unsubscribe"])
    assert len(_emails_to("b@exemple.org")) == 1
    assert AuditLogEntry.objects.filter(
        verb="actors.freshness.reminded", object_id=str(structure.pk)
    ).exists()


def test_send_twice_does_not_send_twice():
    _due()
    assert freshness_send().structures == 1
    assert freshness_send().structures == 0
    assert OutgoingEmail.objects.count() == 1
    assert FreshnessReminder.objects.count() == 1


def test_send_works_in_batches_oldest_verification_first():
    oldest = _due(name="Plus ancienne", last_verified_at=_old_date(900))
    middle = _due(name="Moyenne", last_verified_at=_old_date(600))
    newest = _due(name="Plus récente", last_verified_at=_old_date(400))
    first = freshness_send(limit=2)
    assert first.names == [oldest.name, middle.name]
    second = freshness_send(limit=2)
    assert second.names == [newest.name]


def test_a_card_whose_recipients_all_unsubscribed_is_recorded_not_mailed():
    structure = _due(email="contact@exemple.org")
    FreshnessOptOut.objects.create(email="contact@exemple.org")
    run = freshness_send()
    assert (run.structures, run.emails, run.unreachable) == (1, 0, 1)
    assert OutgoingEmail.objects.count() == 0
    assert FreshnessReminder.objects.get(structure=structure).recipient_count == 0
    assert freshness_send().structures == 0  # not picked again the next day


def test_dry_run_command_writes_nothing(capsys):
    _due(name="La Rafistolerie")
    call_command("freshness_send", "--dry-run")
    out = capsys.readouterr().out
    assert "Essai à blanc" in out and "La Rafistolerie" in out and "1 fiche(s) seraient rappelées" in out
    assert FreshnessReminder.objects.count() == 0 and OutgoingEmail.objects.count() == 0
    call_command("freshness_send")
    assert "1 fiche(s) rappelées, 1 courriel(s)" in capsys.readouterr().out
    assert FreshnessReminder.objects.count() == 1


def test_the_daily_task_sends_the_reminders():
    _due()
    send_freshness_reminders.call_local()
    assert FreshnessReminder.objects.count() == 1


# -- The "toujours exact" link -------------------------------------------------------------------------------


def test_get_shows_the_card_and_changes_nothing(client):
    structure = _due(name="La Rafistolerie", address="1 rue des Ateliers")
    freshness_send()
    response = client.get(_confirm_path(structure))
    html = response.content.decode()
    assert response.status_code == 200
    assert "La Rafistolerie" in html and "1 rue des Ateliers" in html and 'method="post"' in html
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    structure.refresh_from_db()
    assert structure.last_verified_at == _old_date()
    assert FreshnessReminder.objects.get(structure=structure).used_at is None


def test_post_verifies_the_card_as_the_structure_once(client):
    structure = _due()
    freshness_send()
    [email] = OutgoingEmail.objects.all()
    path = CONFIRM_LINK.search(email.body).group(1)

    response = client.post(path)

    assert response.status_code == 200
    assert "la fiche est confirmée" in response.content.decode()
    structure.refresh_from_db()
    assert structure.last_verified_at == timezone.localdate()
    assert FreshnessReminder.objects.get(structure=structure).used_at is not None
    entry = AuditLogEntry.objects.get(verb="actors.structure.verified", object_id=str(structure.pk))
    assert entry.data["source"] == Source.STRUCTURE and entry.actor is None
    # The link works once.
    again = client.post(path)
    assert again.status_code == 410 and "déjà servi" in again.content.decode()
    assert client.get(path).status_code == 410


def test_a_tampered_link_is_refused(client):
    structure = _due()
    freshness_send()
    path = _confirm_path(structure)
    tampered = path.replace("/confirmer/", "/confirmer/x")
    response = client.post(tampered)
    assert response.status_code == 400 and "pas valide" in response.content.decode()
    # A valid signature for another purpose (the unsubscribe salt) is refused too.
    other = reverse("actors:freshness_confirm", args=[unsubscribe_token("a@exemple.org")])
    assert client.post(other).status_code == 400
    structure.refresh_from_db()
    assert structure.last_verified_at == _old_date()


def test_an_expired_link_is_refused(client):
    structure = _due()
    freshness_send()
    reminder = FreshnessReminder.objects.get(structure=structure)
    past = time.time() - LINK_MAX_AGE.total_seconds() - 60
    with mock.patch("django.core.signing.time.time", return_value=past):
        token = confirm_token(reminder)
    response = client.post(reverse("actors:freshness_confirm", args=[token]))
    assert response.status_code == 410 and "expiré" in response.content.decode()
    structure.refresh_from_db()
    assert structure.last_verified_at == _old_date()


def test_a_link_to_a_card_no_longer_published_is_refused(client):
    structure = _due()
    freshness_send()
    path = _confirm_path(structure)
    Structure.objects.filter(pk=structure.pk).update(status=Status.ARCHIVED)
    assert client.post(path).status_code == 410


# -- Unsubscribing -------------------------------------------------------------------------------------------


def test_unsubscribe_page_then_one_click_post_without_csrf():
    structure = _due(email="contact@exemple.org")
    freshness_send()
    [email] = OutgoingEmail.objects.all()
    path = UNSUBSCRIBE_LINK.search(email.body).group(1)
    client = Client(enforce_csrf_checks=True)

    page = client.get(path)
    assert page.status_code == 200 and "contact@exemple.org" in page.content.decode()
    assert not FreshnessOptOut.objects.exists()

    done = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "ne recevra plus" in done.content.decode()
    assert FreshnessOptOut.objects.filter(email="contact@exemple.org").exists()
    assert client.post(path).status_code == 200  # twice is harmless
    assert structure_recipients(structure) == []


def test_a_tampered_unsubscribe_link_is_refused(client):
    response = client.post(reverse("actors:freshness_unsubscribe", args=["abc:def"]))
    assert response.status_code == 400
    assert not FreshnessOptOut.objects.exists()
