"""The group-purchase and shared-job panels of a listing's page."""

from django import template

from essaim.exchange.access import group_purchase_can_manage, listing_can_edit, shared_job_groups_can_browse
from essaim.exchange.group_purchases import group_purchase_totals
from essaim.exchange.models import Direction, GroupPurchase, Kind
from essaim.exchange.shared_jobs import shared_job_groups_for

register = template.Library()


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None)


@register.inclusion_tag("exchange/group_purchase_panel.html", takes_context=True)
def group_purchase_panel(context, listing):
    """For a group-purchase need: the deadline, the totals and the link to join or manage it."""
    shown = listing.kind == Kind.GROUP_PURCHASE and listing.direction == Direction.NEED
    purchase = GroupPurchase.objects.filter(listing=listing).first() if shown else None
    return {
        "shown": shown,
        "listing": listing,
        "purchase": purchase,
        "is_open": purchase.is_open() if purchase else False,
        "totals": group_purchase_totals(purchase) if purchase else [],
        "can_manage": bool(shown and group_purchase_can_manage(_user(context), listing)),
    }


@register.inclusion_tag("exchange/shared_job_panel.html", takes_context=True)
def shared_job_panel(context, listing):
    """For a shared-job need: its job and share of a post, and, for the structure's members and the
    facilitators, the suggested shared posts it belongs to."""
    shown = listing.kind == Kind.SHARED_JOB and listing.direction == Direction.NEED
    can_edit = bool(shown and listing_can_edit(_user(context), listing))
    return {
        "shown": shown,
        "listing": listing,
        "profile": getattr(listing, "shared_job", None) if shown else None,
        "can_edit": can_edit,
        "groups": shared_job_groups_for(listing=listing) if can_edit else [],
        "can_browse": bool(shown and shared_job_groups_can_browse(_user(context))),
    }
