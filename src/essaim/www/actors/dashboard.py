"""Facilitator hub of the Annuaire: what waits for a decision, and the tools to keep the directory right."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from essaim.actors.access import structure_can_moderate
from essaim.actors.models import (
    ClaimStatus,
    ImportRun,
    PendingChange,
    RevisionStatus,
    Status,
    Structure,
    StructureClaim,
    StructureRevision,
)
from essaim.actors.quality import stale_condition
from essaim.core.access import deny_unless


@require_GET
def manage_home(request):
    """Counts of the moderation queue and of cards to refresh, with links to every facilitator tool.

    404 for anyone but facilitators and administrators.
    """
    deny_unless(structure_can_moderate(request.user))
    published = Structure.objects.published()
    context = {
        "claims": StructureClaim.objects.filter(status=ClaimStatus.OPEN).count(),
        "revisions": StructureRevision.objects.filter(status=RevisionStatus.PENDING).count(),
        "pending_changes": PendingChange.objects.count(),
        "pending_cards": Structure.objects.filter(status=Status.PENDING).count(),
        "stale": published.filter(stale_condition()).count(),
        "last_runs": list(ImportRun.objects.order_by("-pk")[:3]),
    }
    context["to_moderate"] = (
        context["claims"] + context["revisions"] + context["pending_changes"] + context["pending_cards"]
    )
    return render(request, "actors/manage/home.html", context)
