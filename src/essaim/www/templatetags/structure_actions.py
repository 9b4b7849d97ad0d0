"""``{% structure_actions structure %}``: the management actions a visitor may take on a card."""

from django import template

from essaim.actors.access import (
    structure_can_archive,
    structure_can_change_card,
    structure_can_claim,
    structure_can_see_history,
)
from essaim.actors.models import ClaimStatus, Status, StructureClaim

register = template.Library()


@register.inclusion_tag("actors/manage/_card_actions.html", takes_context=True)
def structure_actions(context, structure):
    """Claim, edit, history, archive / bring back / publish links, each shown only when allowed."""
    user = context["request"].user
    can_archive = structure_can_archive(user, structure)
    open_claim = False
    if getattr(user, "is_authenticated", False):
        open_claim = StructureClaim.objects.filter(
            user=user, structure=structure, status=ClaimStatus.OPEN
        ).exists()
    return {
        "structure": structure,
        "csrf_token": context.get("csrf_token"),
        "open_claim": open_claim,
        "can_claim": not open_claim and structure_can_claim(user, structure),
        "can_edit": structure_can_change_card(user, structure),
        "can_history": structure_can_see_history(user, structure),
        "can_archive": can_archive and structure.status != Status.ARCHIVED,
        "can_unarchive": can_archive and structure.status == Status.ARCHIVED,
        "can_publish": can_archive and structure.status in (Status.DRAFT, Status.PENDING),
        "is_anonymous": not getattr(user, "is_authenticated", False),
    }
