import pytest
from django.core import mail
from django.urls import reverse

from essaim.core.audit import log_action
from essaim.core.models import AuditLogEntry, OutgoingEmail
from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(AdminFactory())
    return client


def test_audit_log_admin_is_read_only_and_searchable(admin_client):
    member = UserFactory(email="camille@exemple.fr")
    entry = log_action(actor=member, verb="accounts.user.signed_up", obj=member)
    log_action(actor=None, verb="territories.loaded", data={"communes": 3})
    url = reverse("admin:core_auditlogentry_changelist")

    def listed(**params):
        return [e.verb for e in admin_client.get(url, params).context["cl"].result_list]

    detail = admin_client.get(reverse("admin:core_auditlogentry_change", args=[entry.pk]))

    assert listed(q="camille@exemple.fr") == ["accounts.user.signed_up"]
    assert listed(verb="territories.loaded") == ["territories.loaded"]
    assert listed(object_type="accounts.user") == ["accounts.user.signed_up"]
    assert detail.status_code == 200
    assert 'name="verb"' not in detail.content.decode()  # no editable field
    assert admin_client.get(reverse("admin:core_auditlogentry_add")).status_code == 403
    assert admin_client.post(reverse("admin:core_auditlogentry_delete", args=[entry.pk])).status_code == 403
    assert AuditLogEntry.objects.count() == 2


def test_failed_emails_can_be_retried_from_the_admin(admin_client, django_capture_on_commit_callbacks):
    failed = OutgoingEmail.objects.create(
        from_email="a@exemple.fr",
        to=["b@exemple.fr"],
        subject="Échoué",
        body="x",
        status="failed",
        attempts=5,
        last_error="SMTPServerDisconnected: perdu",
    )
    sent = OutgoingEmail.objects.create(
        from_email="a@exemple.fr", to=["b@exemple.fr"], subject="Parti", body="x", status="pending"
    )
    url = reverse("admin:core_outgoingemail_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"action": "retry_delivery", "_selected_action": [failed.pk, sent.pk]}
        )

    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == OutgoingEmail.Status.SENT
    assert failed.attempts == 1  # a fresh series of attempts
    assert [m.subject for m in mail.outbox] == ["Échoué"]
    page = admin_client.get(url).content.decode()
    assert (
        "1 courriel(s) remis dans la file d&#x27;envoi." in page
        or "1 courriel(s) remis dans la file d'envoi." in page
    )
    assert "1 courriel(s) ignoré(s)" in page


def test_email_admin_is_read_only(admin_client):
    email = OutgoingEmail.objects.create(
        from_email="a@exemple.fr", to=["b@exemple.fr"], subject="x", body="x"
    )
    assert admin_client.get(reverse("admin:core_outgoingemail_add")).status_code == 403
    detail = admin_client.get(reverse("admin:core_outgoingemail_change", args=[email.pk]))
    assert detail.status_code == 200
    assert 'name="subject"' not in detail.content.decode()
