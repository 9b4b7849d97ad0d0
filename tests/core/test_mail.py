import datetime

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import transaction
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from essaim.core.mail import email_deliver
from essaim.core.models import OutgoingEmail
from essaim.core.tasks import EMAIL_RETRY_DELAY, deliver_pending_emails
from tests.core import mail_backends
from tests.core.huey_helpers import run_scheduled_tasks

pytestmark = pytest.mark.django_db

FAILING = "tests.core.mail_backends.FailingBackend"
FLAKY = "tests.core.mail_backends.FlakyBackend"


def test_an_email_is_stored_then_delivered_once_the_transaction_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        sent = send_mail("Réunion du réseau", "Rendez-vous jeudi.", None, ["camille@exemple.fr"])
        row = OutgoingEmail.objects.get()
        assert sent == 1
        assert row.status == OutgoingEmail.Status.PENDING
        assert row.to == ["camille@exemple.fr"]
        assert mail.outbox == []  # nothing leaves before the commit

    assert len(callbacks) == 1
    row.refresh_from_db()
    assert row.status == OutgoingEmail.Status.SENT
    assert row.attempts == 1
    assert row.sent_at is not None
    assert row.last_error == ""
    assert [m.subject for m in mail.outbox] == ["Réunion du réseau"]
    assert mail.outbox[0].to == ["camille@exemple.fr"]


def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        send_mail("Annulé", "Ne doit pas partir.", None, ["camille@exemple.fr"])
        raise RuntimeError("échec de l'action")

    assert callbacks == []
    assert not OutgoingEmail.objects.exists()
    assert mail.outbox == []


def test_html_copies_and_attachments_survive_the_queue(django_capture_on_commit_callbacks):
    pdf = b"%PDF-1.4\n\x00\xff\xfe binaire"
    message = EmailMultiAlternatives(
        subject="Compte rendu",
        body="Voir les pièces jointes.",
        from_email="Réseau <reseau@exemple.fr>",
        to=["Camille Martin <camille@exemple.fr>"],
        cc=["dominique@exemple.fr"],
        bcc=["archives@exemple.fr"],
        reply_to=["animation@exemple.fr"],
        headers={"X-Essaim": "test"},
    )
    message.attach_alternative("<p>Voir les <strong>pièces jointes</strong>.</p>", "text/html")
    message.attach("compte-rendu.pdf", pdf, "application/pdf")
    message.attach("notes.txt", "Élément noté", "text/plain")

    with django_capture_on_commit_callbacks(execute=True):
        message.send()

    [delivered] = mail.outbox
    assert delivered.from_email == "Réseau <reseau@exemple.fr>"
    assert delivered.to == ["Camille Martin <camille@exemple.fr>"]
    assert delivered.cc == ["dominique@exemple.fr"]
    assert delivered.bcc == ["archives@exemple.fr"]
    assert delivered.reply_to == ["animation@exemple.fr"]
    assert delivered.extra_headers["X-Essaim"] == "test"
    assert delivered.alternatives[0][0] == "<p>Voir les <strong>pièces jointes</strong>.</p>"
    attachments = {a[0]: (a[1], a[2]) for a in delivered.attachments}
    assert attachments["compte-rendu.pdf"] == (pdf, "application/pdf")
    assert attachments["notes.txt"] == ("Élément noté", "text/plain")
    # The real MIME message builds, with both attachments.
    raw = delivered.message().as_bytes()
    assert b'filename="compte-rendu.pdf"' in raw
    assert b'filename="notes.txt"' in raw


def test_a_failing_transport_is_retried_then_the_email_is_marked_failed(
    settings, django_capture_on_commit_callbacks
):
    settings.ESSAIM_EMAIL_DELIVERY_BACKEND = FAILING
    mail_backends.FailingBackend.calls = 0

    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Invitation", "Bienvenue.", None, ["camille@exemple.fr"])

    row = OutgoingEmail.objects.get()
    # First attempt failed: recorded, still pending, a retry waits in the schedule (no sleeping, no loop).
    assert row.status == OutgoingEmail.Status.PENDING
    assert row.attempts == 1
    assert "SMTPServerDisconnected" in row.last_error
    assert row.locked_until is None
    assert HUEY.scheduled_count() == 1

    retries = run_scheduled_tasks()

    row.refresh_from_db()
    assert row.status == OutgoingEmail.Status.FAILED
    assert row.attempts == settings.ESSAIM_EMAIL_MAX_ATTEMPTS
    assert row.last_error == "SMTPServerDisconnected: Connexion au serveur de courriel perdue"
    assert row.sent_at is None
    assert mail_backends.FailingBackend.calls == settings.ESSAIM_EMAIL_MAX_ATTEMPTS
    assert len(retries) == settings.ESSAIM_EMAIL_MAX_ATTEMPTS - 1
    assert HUEY.scheduled_count() == 0  # given up for good
    assert mail.outbox == []


def test_retries_wait_longer_each_time(settings, django_capture_on_commit_callbacks):
    settings.ESSAIM_EMAIL_DELIVERY_BACKEND = FAILING
    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Invitation", "Bienvenue.", None, ["camille@exemple.fr"])

    delays = []
    while scheduled := HUEY.read_schedule(datetime.datetime(2100, 1, 1)):
        [task] = scheduled
        delays.append(task.retry_delay)
        HUEY.execute(task, timestamp=task.eta)

    assert delays[0] == EMAIL_RETRY_DELAY * 2  # the delay already grown for the next retry
    assert delays == sorted(delays) and len(set(delays)) == len(delays)


def test_a_transport_that_recovers_delivers_on_a_retry(settings, django_capture_on_commit_callbacks):
    settings.ESSAIM_EMAIL_DELIVERY_BACKEND = FLAKY
    mail_backends.FlakyBackend.failures_left = 2

    with django_capture_on_commit_callbacks(execute=True):
        send_mail("Invitation", "Bienvenue.", None, ["camille@exemple.fr"])
    assert mail.outbox == []

    run_scheduled_tasks()

    row = OutgoingEmail.objects.get()
    assert row.status == OutgoingEmail.Status.SENT
    assert row.attempts == 3
    assert row.last_error == ""
    assert len(mail.outbox) == 1


def test_an_email_held_by_another_worker_is_not_sent_twice():
    row = OutgoingEmail.objects.create(
        from_email="a@exemple.fr",
        to=["b@exemple.fr"],
        subject="Objet",
        body="Texte",
        attempts=1,
        locked_until=timezone.now() + datetime.timedelta(minutes=5),
    )

    email_deliver(outgoing_id=row.pk)

    row.refresh_from_db()
    assert row.attempts == 1
    assert row.status == OutgoingEmail.Status.PENDING
    assert mail.outbox == []


def test_sent_and_failed_emails_are_never_sent_again():
    sent = OutgoingEmail.objects.create(
        from_email="a@exemple.fr",
        to=["b@exemple.fr"],
        subject="Déjà",
        body="x",
        status="sent",
        sent_at=timezone.now(),
        attempts=1,
    )
    failed = OutgoingEmail.objects.create(
        from_email="a@exemple.fr",
        to=["b@exemple.fr"],
        subject="Abandon",
        body="x",
        status="failed",
        attempts=5,
    )

    email_deliver(outgoing_id=sent.pk)
    email_deliver(outgoing_id=failed.pk)

    assert mail.outbox == []
    assert OutgoingEmail.objects.get(pk=failed.pk).attempts == 5


def test_the_periodic_safety_net_sends_emails_whose_task_was_lost():
    def pending(subject, **fields):
        row = OutgoingEmail.objects.create(
            from_email="a@exemple.fr", to=["b@exemple.fr"], subject=subject, body="x"
        )
        OutgoingEmail.objects.filter(pk=row.pk).update(**fields)
        return row

    now = timezone.now()
    lost = pending("Perdu", created_at=now - datetime.timedelta(hours=2))
    lost_retry = pending(
        "Relance perdue",
        created_at=now - datetime.timedelta(hours=3),
        attempts=2,
        last_attempt_at=now - datetime.timedelta(hours=1),
    )
    fresh = pending("Tout juste créé")  # its own task is on the way
    retrying = pending(
        "En cours de relance",
        created_at=now - datetime.timedelta(hours=2),
        attempts=1,
        last_attempt_at=now - datetime.timedelta(minutes=2),
    )

    deliver_pending_emails()

    statuses = dict(OutgoingEmail.objects.values_list("subject", "status"))
    assert statuses == {
        lost.subject: "sent",
        lost_retry.subject: "sent",
        fresh.subject: "pending",
        retrying.subject: "pending",
    }
    assert sorted(m.subject for m in mail.outbox) == ["Perdu", "Relance perdue"]


def test_emails_without_recipients_are_not_queued():
    assert send_mail("Personne", "x", None, []) == 0
    assert not OutgoingEmail.objects.exists()


def test_the_database_refuses_a_sent_email_without_date():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        OutgoingEmail.objects.create(
            from_email="a@exemple.fr", to=["b@exemple.fr"], subject="x", body="x", status="sent"
        )
