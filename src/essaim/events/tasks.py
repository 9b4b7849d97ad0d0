"""Background tasks of the agenda (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from essaim.core.site import site_url
from essaim.events.services import offers_expire


@db_periodic_task(crontab(minute="*/15"))
def expire_offered_places() -> None:
    """Every quarter of an hour: places offered from the waiting list and not confirmed in time go to the
    next people waiting."""
    # No request here: links in emails use the site's public address (ESSAIM_SITE_URL, else ALLOWED_HOSTS).
    offers_expire(base_url=site_url())


@db_task()
def queue_participant_message(message_id: int) -> None:
    """Queue the emails of a message to an event's participants (in batches; once per message)."""
    from essaim.events.messaging import message_queue_emails

    message_queue_emails(message_id=message_id, base_url=site_url())


@db_periodic_task(crontab(minute="7"))
def send_event_reminders() -> None:
    """Hourly: the reminder email ESSAIM_EVENTS_REMINDER_DAYS days before each event (once per person)."""
    from essaim.events.messaging import reminders_send

    reminders_send(base_url=site_url())


@db_periodic_task(crontab(minute="37", hour="3"))
def purge_participants_personal_data() -> None:
    """Daily: anonymise participants ESSAIM_EVENTS_RETENTION_MONTHS months after their event."""
    from essaim.events.privacy import events_retention_purge

    events_retention_purge()
