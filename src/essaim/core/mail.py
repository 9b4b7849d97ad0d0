"""Outgoing email: stored as rows, then delivered by a background task with retries.

``QueuedEmailBackend`` is Django's ``EMAIL_BACKEND``, so every message (password reset included) is queued.
The real transport is ``ESSAIM_EMAIL_DELIVERY_BACKEND`` (SMTP when configured, else the console).

Life of an email: ``email_enqueue`` stores it (inside the caller's transaction: a rolled-back action sends
nothing) and schedules the ``deliver_email`` task once that transaction commits; ``email_deliver`` sends it,
recording each attempt; the task queue retries failures with a growing delay; after
``ESSAIM_EMAIL_MAX_ATTEMPTS`` attempts the email is marked failed with its last error (an administrator may
retry it from the admin). The periodic task ``deliver_pending_emails`` picks up emails whose task was lost.
"""

import base64
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from essaim.core.models import OutgoingEmail

logger = logging.getLogger(__name__)

# Longer than any SMTP conversation (EMAIL_TIMEOUT is 20 s): while it runs, nobody else sends the same email.
DELIVERY_LEASE = timedelta(minutes=10)
# A pending email nobody has tried for this long lost its task: the safety net schedules it again.
STALLED_AFTER = timedelta(minutes=30)


class DeliveryError(Exception):
    """The transport refused an email that will be tried again (the task queue retries on this error)."""


def _serialise_attachments(message) -> list[dict]:
    result = []
    for attachment in message.attachments:
        if isinstance(attachment, tuple):  # (filename, content, mimetype)
            filename, content, mimetype = attachment
        else:  # a MIMEBase object: keep its decoded payload
            filename = attachment.get_filename() or "piece-jointe"
            content = attachment.get_payload(decode=True)
            mimetype = attachment.get_content_type()
            if content is None:
                raise ValueError("Pièce jointe multipart non prise en charge par la file d'envoi.")
        if isinstance(content, str):
            content = content.encode()
        result.append(
            {
                "filename": filename,
                "mimetype": mimetype or "application/octet-stream",
                "content": base64.b64encode(content).decode(),
            }
        )
    return result


def _schedule_delivery(outgoing_id: int) -> None:
    from essaim.core.tasks import deliver_email  # tasks import this module

    deliver_email(outgoing_id)


def email_enqueue(*, message) -> OutgoingEmail:
    """Store ``message`` (an EmailMessage) and schedule its delivery once the current transaction commits.

    Raises ValueError for an attachment the queue cannot store. If the task queue cannot be reached at commit
    time, the error is logged and the email stays pending: the periodic safety net sends it later.
    """
    html = ""
    for content, mimetype in getattr(message, "alternatives", None) or []:
        if mimetype == "text/html":
            html = content
    outgoing = OutgoingEmail.objects.create(
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[str(address) for address in message.to],
        cc=[str(address) for address in message.cc],
        bcc=[str(address) for address in message.bcc],
        reply_to=[str(address) for address in message.reply_to],
        subject=str(message.subject),
        body=str(message.body),
        html_body=str(html),
        attachments=_serialise_attachments(message),
        headers={str(key): str(value) for key, value in message.extra_headers.items()},
    )
    transaction.on_commit(lambda: _schedule_delivery(outgoing.pk), robust=True)
    return outgoing


def _build_message(outgoing: OutgoingEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=outgoing.subject,
        body=outgoing.body,
        from_email=outgoing.from_email,
        to=outgoing.to,
        cc=outgoing.cc,
        bcc=outgoing.bcc,
        reply_to=outgoing.reply_to,
        headers=outgoing.headers,
        connection=get_connection(settings.ESSAIM_EMAIL_DELIVERY_BACKEND),
    )
    if outgoing.html_body:
        message.attach_alternative(outgoing.html_body, "text/html")
    for attachment in outgoing.attachments:
        message.attach(
            attachment["filename"], base64.b64decode(attachment["content"]), attachment["mimetype"]
        )
    return message


def email_deliver(*, outgoing_id: int) -> OutgoingEmail | None:
    """Send one stored email through the delivery backend and record the attempt.

    Returns the email (None if it no longer exists). Does nothing for an email already sent, failed, or
    being sent by another worker. When the transport fails the error is recorded; DeliveryError is raised so
    the task queue retries, except at the last allowed attempt, where the email is marked failed and returned.
    """
    now = timezone.now()
    # Claim the email in a short transaction: the mail server is not contacted while a database lock is held.
    with transaction.atomic():
        outgoing = OutgoingEmail.objects.select_for_update().filter(pk=outgoing_id).first()
        if outgoing is None:
            logger.info("Courriel %s introuvable (supprimé avant son envoi).", outgoing_id)
            return None
        if outgoing.status != OutgoingEmail.Status.PENDING:
            return outgoing
        if outgoing.locked_until and outgoing.locked_until > now:
            return outgoing
        outgoing.attempts += 1
        outgoing.last_attempt_at = now
        outgoing.locked_until = now + DELIVERY_LEASE
        outgoing.save(update_fields=["attempts", "last_attempt_at", "locked_until"])

    try:
        _build_message(outgoing).send()
    except Exception as exc:  # any transport error: record it, let the queue retry
        outgoing.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        outgoing.locked_until = None
        final = outgoing.attempts >= settings.ESSAIM_EMAIL_MAX_ATTEMPTS
        if final:
            outgoing.status = OutgoingEmail.Status.FAILED
        outgoing.save(update_fields=["last_error", "locked_until", "status"])
        logger.warning(
            "Envoi du courriel %s échoué (tentative %s/%s) : %s",
            outgoing.pk,
            outgoing.attempts,
            settings.ESSAIM_EMAIL_MAX_ATTEMPTS,
            outgoing.last_error,
        )
        if final:
            return outgoing
        raise DeliveryError(outgoing.last_error) from exc

    outgoing.status = OutgoingEmail.Status.SENT
    outgoing.sent_at = timezone.now()
    outgoing.last_error = ""
    outgoing.locked_until = None
    outgoing.save(update_fields=["status", "sent_at", "last_error", "locked_until"])
    return outgoing


@transaction.atomic
def email_retry(*, outgoing: OutgoingEmail) -> bool:
    """Put a failed email back in the queue for a fresh series of attempts (admin action).

    Returns False, changing nothing, for an email that is not in the failed state.
    """
    updated = (
        OutgoingEmail.objects.failed()
        .filter(pk=outgoing.pk)
        .update(status=OutgoingEmail.Status.PENDING, attempts=0, locked_until=None)
    )
    if not updated:
        return False
    transaction.on_commit(lambda: _schedule_delivery(outgoing.pk), robust=True)
    return True


def email_schedule_stalled(*, limit: int = 500) -> int:
    """Schedule delivery of pending emails whose task was lost; returns how many were scheduled."""
    ids = list(
        OutgoingEmail.objects.stalled(now=timezone.now(), grace=STALLED_AFTER)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        _schedule_delivery(pk)
    return len(ids)


class QueuedEmailBackend(BaseEmailBackend):
    """Django email backend that stores messages for background delivery instead of sending them inline."""

    def send_messages(self, email_messages) -> int:
        count = 0
        for message in email_messages:
            if not message.recipients():
                continue
            email_enqueue(message=message)
            count += 1
        return count
