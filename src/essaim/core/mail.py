"""Outgoing email: stored as rows, then delivered by a background task with retries.

``QueuedEmailBackend`` is Django's ``EMAIL_BACKEND``, so every message (password reset included) is queued.
The real transport is ``ESSAIM_EMAIL_DELIVERY_BACKEND`` (SMTP when configured, else the console).
"""

import base64
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils import timezone

from essaim.core.models import OutgoingEmail

logger = logging.getLogger(__name__)


def _serialise_attachments(message) -> list[dict]:
    result = []
    for attachment in message.attachments:
        if isinstance(attachment, tuple):  # (filename, content, mimetype)
            filename, content, mimetype = attachment
        else:  # a MIMEBase object: keep its payload as is
            filename = attachment.get_filename() or "piece-jointe"
            content = attachment.get_payload(decode=True)
            mimetype = attachment.get_content_type()
        if isinstance(content, str):
            content = content.encode()
        result.append({"filename": filename, "mimetype": mimetype, "content": base64.b64encode(content).decode()})
    return result


def email_enqueue(*, message) -> OutgoingEmail:
    """Store ``message`` (an EmailMessage) and schedule its delivery once the current transaction commits."""
    html = ""
    for content, mimetype in getattr(message, "alternatives", []) or []:
        if mimetype == "text/html":
            html = content
    outgoing = OutgoingEmail.objects.create(
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        to=list(message.to),
        cc=list(message.cc),
        bcc=list(message.bcc),
        reply_to=list(message.reply_to),
        subject=message.subject,
        body=message.body,
        html_body=html,
        attachments=_serialise_attachments(message),
        headers=dict(message.extra_headers),
    )
    from essaim.core.tasks import deliver_email

    transaction.on_commit(lambda: deliver_email(outgoing.pk))
    return outgoing


class DeliveryError(Exception):
    pass


def email_deliver(*, outgoing_id: int) -> OutgoingEmail:
    """Send one stored email through the delivery backend.

    Raises DeliveryError (after recording it) when the transport fails, so the task queue retries;
    past ESSAIM_EMAIL_MAX_ATTEMPTS the email is marked as failed for good and not retried.
    """
    with transaction.atomic():
        outgoing = OutgoingEmail.objects.select_for_update().get(pk=outgoing_id)
        if outgoing.status != OutgoingEmail.Status.PENDING:
            return outgoing
        outgoing.attempts += 1
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
            message.attach(attachment["filename"], base64.b64decode(attachment["content"]), attachment["mimetype"])
        try:
            message.send()
        except Exception as exc:  # any transport error: record it, let the queue retry
            outgoing.last_error = f"{type(exc).__name__}: {exc}"
            if outgoing.attempts >= settings.ESSAIM_EMAIL_MAX_ATTEMPTS:
                outgoing.status = OutgoingEmail.Status.FAILED
            outgoing.save(update_fields=["attempts", "last_error", "status"])
            logger.warning("Envoi du courriel %s échoué (tentative %s) : %s", outgoing.pk, outgoing.attempts, exc)
            if outgoing.status == OutgoingEmail.Status.FAILED:
                return outgoing
            failed = True
        else:
            failed = False
            outgoing.status = OutgoingEmail.Status.SENT
            outgoing.sent_at = timezone.now()
            outgoing.last_error = ""
            outgoing.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    if failed:
        raise DeliveryError(outgoing.last_error)
    return outgoing


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
