"""Background tasks of the core app (Huey; run in-process in tests, where HUEY["immediate"] is on)."""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from essaim.core.mail import email_deliver, email_schedule_stalled
from essaim.core.retention import retention_purge

# One first attempt plus retries after 1, 2, 4, 8 minutes (growing delay). In immediate mode a failed task is
# put in Huey's in-memory schedule rather than slept on, so tests never wait nor loop.
EMAIL_RETRY_DELAY = 60
EMAIL_RETRY_BACKOFF = 2


@db_task(
    retries=settings.ESSAIM_EMAIL_MAX_ATTEMPTS - 1,
    retry_delay=EMAIL_RETRY_DELAY,
    retry_backoff=EMAIL_RETRY_BACKOFF,
)
def deliver_email(outgoing_id: int) -> None:
    """Send one queued email; raises DeliveryError (hence a retry) while attempts remain."""
    email_deliver(outgoing_id=outgoing_id)


@db_periodic_task(crontab(minute="*/10"))
def deliver_pending_emails() -> None:
    """Safety net: emails whose task was lost (worker down at enqueue time) are scheduled again."""
    email_schedule_stalled()


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_expired_data() -> None:
    """Daily: delete emails and login records past the retention delays stated on the privacy page."""
    retention_purge()
