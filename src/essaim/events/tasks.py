"""Background tasks of the agenda (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from essaim.core.site import site_url
from essaim.events.services import offers_expire


@db_periodic_task(crontab(minute="*/15"))
def expire_offered_places() -> None:
    """Every quarter of an hour: places offered from the waiting list and not confirmed in time go to the
    next people waiting."""
    # No request here: links in emails use the site's public address (ESSAIM_SITE_URL, else ALLOWED_HOSTS).
    offers_expire(base_url=site_url())
