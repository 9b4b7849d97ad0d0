"""Background tasks of offers and needs (Huey)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from essaim.exchange.services import listings_expire


@db_periodic_task(crontab(hour="3", minute="20"))
def expire_listings() -> None:
    """Every night: published listings past their expiry date leave the public list."""
    listings_expire()


@db_periodic_task(crontab(hour="9", minute="5"))
def remind_expiring_listings() -> None:
    """Every morning: posters of listings leaving the public list within a week are told, once."""
    from essaim.exchange.services import listings_remind_expiring

    listings_remind_expiring()


@db_periodic_task(crontab(minute="*/15"))
def close_due_group_purchases() -> None:
    """Every quarter of an hour: group purchases past their deadline are closed (the services already refuse
    changes after the deadline; this records it)."""
    from essaim.exchange.group_purchases import group_purchases_close_due

    group_purchases_close_due()


@db_periodic_task(crontab(hour="7", minute="10"))
def send_alerts() -> None:
    """Every morning: each due alert (daily or weekly) emails the new listings matching it."""
    from essaim.exchange.alerts import alerts_send

    alerts_send()


@db_task()
def refresh_listing_matches(listing_id: int) -> None:
    """After a listing is published or changed: record its new strong suggestions as match records."""
    from essaim.exchange.contacts import matches_refresh_for
    from essaim.exchange.models import Listing

    listing = Listing.objects.filter(pk=listing_id).first()
    if listing is not None:
        matches_refresh_for(listing=listing)


@db_periodic_task(crontab(hour="8", minute="40"))
def send_match_digests() -> None:
    """Every morning: each person concerned gets one email with the new suggestions of their structures."""
    from essaim.exchange.contacts import match_digests_send

    match_digests_send()
