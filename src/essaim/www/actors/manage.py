"""Card management: claim, edit (applied or proposed), history with restore, archive, create, moderation.

Every view checks its permission with ``actors.access`` and answers 404 for what the user may not do;
the signed-in-only actions (claim, propose a card) send anonymous visitors to the login page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from essaim.actors import history, moderation
from essaim.actors.access import (
    structure_can_archive,
    structure_can_change_card,
    structure_can_claim,
    structure_can_create,
    structure_can_moderate,
    structure_can_restore,
    structure_can_see_history,
    structure_can_view,
)
from essaim.actors.claims import claim_approve, claim_reject, claim_submit, domain_matches
from essaim.actors.duplicates import structure_find_similar
from essaim.actors.models import (
    ClaimStatus,
    MembershipRole,
    PendingChange,
    RevisionStatus,
    Source,
    Status,
    Structure,
    StructureClaim,
    StructureRevision,
    StructureVersion,
)
from essaim.actors.services import (
    membership_add,
    structure_archive,
    structure_create,
    structure_publish,
    structure_restore,
    structure_submit,
)
from essaim.core.access import deny_unless
from essaim.core.site import request_site_url
from essaim.territories.models import Commune
from essaim.www.actors.manage_forms import (
    COMMUNE_LISTBOX_ID,
    ClaimForm,
    RevisionDecisionForm,
    StructureCardForm,
    StructureCreateForm,
)

HISTORY_PAGE_SIZE = 30
QUEUE_LIMIT = 100
# Claims and proposed cards per person (facilitators are not limited): each one lands in the facilitators'
# queue and mailbox.
SELF_SERVICE_RATE = "20/h"


def _rate_limited(request, group: str):
    """A French 429 page when a non-facilitator sent too many requests of ``group``, else None."""
    if structure_can_moderate(request.user) or not is_ratelimited(
        request, group=group, key="user", rate=SELF_SERVICE_RATE, increment=True
    ):
        return None
    message = "Vous avez envoyé beaucoup de demandes en peu de temps : réessayez dans une heure."
    return render(request, "accounts/rate_limited.html", {"rate_limit_message": message}, status=429)


def _card(slug: str) -> Structure:
    structure = get_object_or_404(Structure.objects.select_related("commune"), slug=slug)
    if structure.merged_into_id is not None:
        raise Http404("Fiche fusionnée dans une autre.")
    return structure


def _detail(structure: Structure):
    return redirect(reverse("actors:detail", args=[structure.slug]))


# -- claim -----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def structure_claim(request, slug: str):
    """ "Je fais partie de cette structure": automatic on the structure's domain, else sent for review."""
    structure = _card(slug)
    deny_unless(structure_can_view(request.user, structure))
    open_claim = StructureClaim.objects.filter(
        user=request.user, structure=structure, status=ClaimStatus.OPEN
    ).first()
    if open_claim is None:
        deny_unless(structure_can_claim(request.user, structure))
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and (limited := _rate_limited(request, "actors:claim")):
        return limited
    if request.method == "POST" and open_claim is None and form.is_valid():
        try:
            claim = claim_submit(
                user=request.user,
                structure=structure,
                message=form.cleaned_data["message"],
                site_url=request_site_url(request),
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            if claim.status == ClaimStatus.APPROVED:
                messages.success(
                    request,
                    "Votre adresse est sur le domaine de la structure : vous en faites désormais partie "
                    "et pouvez mettre à jour sa fiche.",
                )
            else:
                messages.success(
                    request,
                    "Demande envoyée à l'équipe d'animation. Vous recevrez sa réponse par courriel.",
                )
            return _detail(structure)
    return render(
        request,
        "actors/manage/claim.html",
        {
            "structure": structure,
            "form": form,
            "open_claim": open_claim,
            "automatic": domain_matches(request.user.email, structure),
        },
    )


# -- edit ------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def structure_edit(request, slug: str):
    """The card's form: facilitators' edits and members' edits of unpublished cards apply at once; members'
    edits of a published card become a proposal for the moderation queue."""
    structure = _card(slug)
    deny_unless(structure_can_change_card(request.user, structure))
    facilitator = structure_can_moderate(request.user)
    pending = StructureRevision.objects.filter(
        structure=structure, proposed_by=request.user, status=RevisionStatus.PENDING
    ).first()
    # A member with an open proposal edits on top of it, not of the published values.
    initial = _proposal_initial(pending) if pending else {}
    form = StructureCardForm(
        request.POST or None, facilitator=facilitator, structure=structure, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            outcome = moderation.structure_edit(
                structure=structure,
                actor=request.user,
                changes=form.changes(),
                site_url=request_site_url(request),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except PermissionDenied as exc:
            raise Http404("Page introuvable.") from exc
        else:
            if outcome.result == moderation.APPLIED:
                messages.success(request, "La fiche est mise à jour.")
            elif outcome.result == moderation.PROPOSED:
                messages.success(
                    request,
                    "Modifications envoyées à l'équipe d'animation, qui les relira avant publication.",
                )
            else:
                messages.info(request, "Aucune modification : la fiche est inchangée.")
            return _detail(structure)
    return render(
        request,
        "actors/manage/edit.html",
        {
            "structure": structure,
            "form": form,
            "moderated": not facilitator and structure.status == Status.PUBLISHED,
            "pending": pending,
            "pending_rows": history.diff_rows(pending.changes) if pending else [],
            "listbox_id": COMMUNE_LISTBOX_ID,
        },
    )


def _proposal_initial(revision: StructureRevision) -> dict:
    initial = {}
    for field, change in revision.changes.items():
        value = change["new"]
        if field == "commune":
            commune = Commune.objects.filter(pk=value).first() if value else None
            initial["commune"] = commune.code if commune else ""
            initial["commune_query"] = f"{commune.name} ({commune.departement_id})" if commune else ""
        else:
            initial[field] = value
    return initial


# -- history ---------------------------------------------------------------------------------------------


@require_http_methods(["GET"])
def structure_history(request, slug: str):
    """Every applied change of the card, newest first, with a restore button for facilitators."""
    structure = _card(slug)
    deny_unless(structure_can_see_history(request.user, structure))
    versions = StructureVersion.objects.filter(structure=structure).select_related("actor").order_by("-pk")
    page = Paginator(versions, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    latest = versions.values_list("pk", flat=True).first()
    items = [
        {"version": version, "rows": history.diff_rows(version.changes), "is_latest": version.pk == latest}
        for version in page
    ]
    return render(
        request,
        "actors/manage/history.html",
        {
            "structure": structure,
            "page": page,
            "items": items,
            "can_restore": structure_can_restore(request.user, structure),
        },
    )


@require_http_methods(["GET", "POST"])
def version_restore(request, slug: str, version: int):
    """Confirm (GET) then restore (POST) the card's values as they were right after ``version``."""
    structure = _card(slug)
    deny_unless(structure_can_restore(request.user, structure))
    version_obj = get_object_or_404(StructureVersion, pk=version, structure=structure)
    version_obj.structure = structure
    changes = history.restorable_changes(version_obj)
    error = None
    if request.method == "POST":
        try:
            changed = history.version_restore(version=version_obj, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if changed:
                messages.success(request, f"Version n° {version_obj.pk} restaurée ({len(changed)} champ(s)).")
            else:
                messages.info(request, "La fiche a déjà les valeurs de cette version.")
            return redirect(reverse("actors:history", args=[structure.slug]))
    return render(
        request,
        "actors/manage/restore.html",
        {"structure": structure, "version": version_obj, "rows": history.diff_rows(changes), "error": error},
    )


# -- status ----------------------------------------------------------------------------------------------


def _status_action(request, slug: str, action, message: str):
    structure = _card(slug)
    deny_unless(structure_can_archive(request.user, structure))
    try:
        action(structure=structure, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, message.format(name=structure.name))
    return _detail(structure)


@require_POST
def structure_archive_view(request, slug: str):
    """Archive a card (never deleted): it leaves the directory, its history stays."""
    return _status_action(request, slug, structure_archive, "« {name} » est archivée.")


@require_POST
def structure_unarchive_view(request, slug: str):
    """Bring an archived card back as a draft, to be reviewed before publishing again."""
    return _status_action(request, slug, structure_restore, "« {name} » est revenue en brouillon.")


@require_POST
def structure_publish_view(request, slug: str):
    return _status_action(request, slug, structure_publish, "« {name} » est publiée.")


# -- create ----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def structure_new(request):
    """A new card. Similar existing cards are shown first and need an explicit "créer quand même".

    Facilitators create it (published or draft); other signed-in people propose it: it waits for review and
    they become its managers.
    """
    deny_unless(structure_can_create(request.user))
    facilitator = structure_can_moderate(request.user)
    if request.method == "POST" and (limited := _rate_limited(request, "actors:new")):
        return limited
    form = StructureCreateForm(request.POST or None)
    similar = []
    if request.method == "POST" and form.is_valid():
        values = form.changes()
        if not form.cleaned_data["confirm_duplicates"]:
            similar = structure_find_similar(
                name=values["name"],
                commune=values["commune"],
                siren=values["siren"],
                website=values["website"],
                email=values["email"],
            )
        if not similar:
            try:
                structure = _create(
                    request.user, values, facilitator=facilitator, publish=request.POST.get("publish")
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                if facilitator:
                    messages.success(request, f"La fiche « {structure.name} » est créée.")
                else:
                    messages.success(
                        request,
                        "Merci ! Fiche envoyée à l'équipe d'animation, qui la publiera après relecture.",
                    )
                return _detail(structure)
    return render(
        request,
        "actors/manage/new.html",
        {"form": form, "similar": similar, "facilitator": facilitator, "listbox_id": COMMUNE_LISTBOX_ID},
    )


@transaction.atomic
def _create(user, values: dict, *, facilitator: bool, publish) -> Structure:
    name, family = values.pop("name"), values.pop("family")
    structure = structure_create(
        name=name,
        family=family,
        actor=user,
        source=Source.FACILITATOR if facilitator else Source.STRUCTURE,
        status=Status.PUBLISHED if facilitator and publish else Status.DRAFT,
        **values,
    )
    if not facilitator:
        membership_add(user=user, structure=structure, actor=user, role=MembershipRole.MANAGER)
        structure_submit(structure=structure, actor=user)
    return structure


# -- moderation queue ------------------------------------------------------------------------------------


def _require_moderator(request) -> None:
    deny_unless(structure_can_moderate(request.user))


@require_http_methods(["GET"])
def moderation_queue(request):
    """Open claims, members' proposals, import changes to verified fields and cards waiting for review."""
    _require_moderator(request)
    claims = list(
        StructureClaim.objects.filter(status=ClaimStatus.OPEN)
        .select_related("user", "structure")
        .order_by("created_at")[:QUEUE_LIMIT]
    )
    revisions = list(
        StructureRevision.objects.filter(status=RevisionStatus.PENDING)
        .select_related("structure", "proposed_by")
        .order_by("created_at")[:QUEUE_LIMIT]
    )
    changes = [
        moderation.pending_change_rows(change)
        for change in PendingChange.objects.select_related("structure").order_by("created_at", "pk")[
            :QUEUE_LIMIT
        ]
    ]
    pending_cards = list(
        Structure.objects.filter(status=Status.PENDING)
        .select_related("commune")
        .order_by("updated_at")[:QUEUE_LIMIT]
    )
    return render(
        request,
        "actors/manage/moderation.html",
        {
            "claims": claims,
            "revisions": [{"revision": r, "rows": history.diff_rows(r.changes)} for r in revisions],
            "changes": changes,
            "pending_cards": pending_cards,
        },
    )


@require_POST
def claim_decide(request, pk: int):
    """Approve or reject (with a reason) an open claim, then back to the queue."""
    _require_moderator(request)
    claim = get_object_or_404(StructureClaim.objects.select_related("user", "structure"), pk=pk)
    try:
        if request.POST.get("decision") == "approve":
            claim_approve(claim=claim, actor=request.user, site_url=request_site_url(request))
            messages.success(request, f"{claim.user} fait désormais partie de « {claim.structure.name} ».")
        elif request.POST.get("decision") == "reject":
            claim_reject(claim=claim, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, f"Demande de {claim.user} refusée ; la personne est prévenue.")
        else:
            messages.error(request, "Décision inconnue.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("actors:moderation")


@require_http_methods(["GET", "POST"])
def revision_review(request, pk: int):
    """A member's proposal, field by field (old -> new, and the current value when it moved since)."""
    _require_moderator(request)
    revision = get_object_or_404(StructureRevision.objects.select_related("structure", "proposed_by"), pk=pk)
    structure = revision.structure
    rows = history.diff_rows(revision.changes)
    for row in rows:
        current = history.stored_value(structure, row["field"])
        row["moved"] = current != revision.changes[row["field"]]["old"]
        row["current"] = history.display_value(row["field"], current)
    form = RevisionDecisionForm(request.POST or None, field_choices=[(r["field"], r["label"]) for r in rows])
    if request.method == "POST" and revision.status == RevisionStatus.PENDING and form.is_valid():
        decision = form.cleaned_data["decision"]
        try:
            if decision == form.REJECT:
                moderation.revision_reject(
                    revision=revision, actor=request.user, reason=form.cleaned_data["reason"]
                )
                messages.success(request, "Proposition refusée ; son auteur est prévenu.")
            else:
                fields = form.cleaned_data["accepted"] if decision == form.APPROVE_SELECTED else None
                moderation.revision_approve(
                    revision=revision, actor=request.user, fields=fields, site_url=request_site_url(request)
                )
                messages.success(request, f"Proposition acceptée : « {structure.name} » est mise à jour.")
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("actors:moderation")
    return render(
        request,
        "actors/manage/revision.html",
        {"revision": revision, "structure": structure, "rows": rows, "form": form},
    )


@require_POST
def pending_change_decide(request, pk: int):
    """Accept or reject an import's change to a verified field, then back to the queue."""
    _require_moderator(request)
    change = get_object_or_404(PendingChange.objects.select_related("structure"), pk=pk)
    label = history.field_label(change.field)
    try:
        if request.POST.get("decision") == "accept":
            moderation.pending_change_accept(change=change, actor=request.user)
            messages.success(request, f"{label} de « {change.structure.name} » mis à jour depuis l'import.")
        elif request.POST.get("decision") == "reject":
            moderation.pending_change_reject(change=change, actor=request.user)
            messages.success(request, f"{label} de « {change.structure.name} » : valeur vérifiée conservée.")
        else:
            messages.error(request, "Décision inconnue.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("actors:moderation")
