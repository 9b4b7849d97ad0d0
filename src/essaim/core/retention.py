"""Retention: personal data kept no longer than the privacy page says (run daily by a periodic task)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from essaim.core.models import OutgoingEmail


@transaction.atomic
def retention_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention delay, and return how many rows of each kind were deleted.

    - sent or failed emails created more than ``ESSAIM_EMAIL_RETENTION_DAYS`` days ago (pending ones are
      kept: they are still to be delivered);
    - login logs and attempts (django-axes) older than ``ESSAIM_LOGIN_LOG_RETENTION_DAYS`` days.

    A delay of 0 or less disables that purge (misconfiguration must never erase everything).
    """
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    now = now or timezone.now()
    deleted = {"emails": 0, "login_records": 0}
    email_days = settings.ESSAIM_EMAIL_RETENTION_DAYS
    if email_days > 0:
        deleted["emails"], _ = (
            OutgoingEmail.objects.exclude(status=OutgoingEmail.Status.PENDING)
            .filter(created_at__lt=now - timedelta(days=email_days))
            .delete()
        )
    login_days = settings.ESSAIM_LOGIN_LOG_RETENTION_DAYS
    if login_days > 0:
        cutoff = now - timedelta(days=login_days)
        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            count, _ = model.objects.filter(attempt_time__lt=cutoff).delete()
            deleted["login_records"] += count
    return deleted
