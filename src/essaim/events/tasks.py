"""Background tasks of the agenda (Huey)."""

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from essaim.events.services import offers_expire


@db_periodic_task(crontab(minute="*/15"))
def expire_offered_places() -> None:
    """Every quarter of an hour: places offered from the waiting list and not confirmed in time go to the
    next people waiting."""
    # No request here: links in emails use the configured public address of the site, when there is one.
    offers_expire(base_url=getattr(settings, "ESSAIM_SITE_URL", ""))
