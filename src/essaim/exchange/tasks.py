"""Background tasks of offers and needs (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from essaim.exchange.services import listings_expire


@db_periodic_task(crontab(hour="3", minute="20"))
def expire_listings() -> None:
    """Every night: published listings past their expiry date leave the public list."""
    listings_expire()
