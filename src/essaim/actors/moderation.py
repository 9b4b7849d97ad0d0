"""Editing cards by their members and facilitators, and the facilitators' moderation of proposed changes.

A facilitator's edit applies at once (provenance: the facilitation team). A member's edit of a draft or
pending card applies at once too (provenance: the structure itself); a member's edit of a PUBLISHED card
becomes a ``StructureRevision`` that a facilitator approves (all or some fields) or rejects with a reason.
Import changes to human-verified fields (``PendingChange``) are accepted or rejected here as well.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from essaim.actors import history
from essaim.actors.access import structure_can_change_card
from essaim.actors.claims import facilitators_notify
from essaim.actors.models import (
    FieldProvenance,
    PendingChange,
    RevisionStatus,
    Source,
    Status,
    Structure,
    StructureRevision,
    VersionKind,
)
from essaim.actors.rules import is_facilitator
from essaim.actors.services import EDITABLE_FIELDS, M2M_FIELDS, structure_update
from essaim.core.audit import log_action

APPLIED, PROPOSED, UNCHANGED = "applied", "proposed", "unchanged"


@dataclass
class EditOutcome:
    """What an edit did: ``applied`` (fields changed), ``proposed`` (revision to review) or ``unchanged``."""

    result: str
    fields: list[str]
    revision: StructureRevision | None = None


def _check_fields(changes: dict) -> None:
    unknown = set(changes) - set(EDITABLE_FIELDS) - set(M2M_FIELDS)
    if unknown:
        raise TypeError(f"Champs non modifiables : {', '.join(sorted(unknown))}")


def _diff(structure: Structure, changes: dict) -> dict:
    """``{field: {"old": stored now, "new": stored proposed}}`` for the fields that really differ."""
    result = {}
    for field, value in changes.items():
        if isinstance(value, str):
            value = value.strip().lower() if field == "email" else value.strip()
        old = history.stored_value(structure, field)
        new = sorted(getattr(v, "pk", v) for v in value) if field in M2M_FIELDS else history.to_json(value)
        if old != new:
            result[field] = {"old": old, "new": new}
    return result


def structure_edit(*, structure: Structure, actor, changes: dict, site_url: str = "") -> EditOutcome:
    """Apply or propose ``changes`` (field -> value, as ``structure_update`` takes them) made by ``actor``.

    Raises PermissionDenied when ``actor`` may not edit the card, TypeError for a field that is not
    editable, ValidationError (French) for invalid values; nothing is written then.
    """
    if not structure_can_change_card(actor, structure):
        raise PermissionDenied("Vous ne pouvez pas modifier cette fiche.")
    _check_fields(changes)
    if is_facilitator.test(actor) or structure.status != Status.PUBLISHED:
        source = Source.FACILITATOR if is_facilitator.test(actor) else Source.STRUCTURE
        fields = structure_update(structure=structure, actor=actor, source=source, **changes)
        return EditOutcome(APPLIED if fields else UNCHANGED, fields)
    revision = revision_propose(structure=structure, actor=actor, changes=changes, site_url=site_url)
    if revision is None:
        return EditOutcome(UNCHANGED, [])
    return EditOutcome(PROPOSED, list(revision.changes), revision)


def _validate(structure: Structure, changes: dict) -> None:
    """Check that ``changes`` would make a valid card, without writing anything."""
    sid = transaction.savepoint()
    try:
        structure_update(structure=Structure.objects.get(pk=structure.pk), actor=None, **changes)
    finally:
        transaction.savepoint_rollback(sid)


@transaction.atomic
def revision_propose(
    *, structure: Structure, actor, changes: dict, site_url: str = ""
) -> StructureRevision | None:
    """Keep ``changes`` to a published card for a facilitator's review; None when nothing differs.

    A person has at most one open proposal per card: a new edit replaces it (an edit back to the card's
    current values withdraws it). Facilitators are told
    by email of a new proposal (links start with ``site_url``). Raises ValidationError
    (French) when the values would make an invalid card, as an applied edit would.
    """
    _check_fields(changes)
    diff = _diff(structure, changes)
    revision = (
        StructureRevision.objects.select_for_update()
        .filter(structure=structure, proposed_by=actor, status=RevisionStatus.PENDING)
        .first()
    )
    if not diff:
        if revision is not None:
            # Sending the card's current values back withdraws the open proposal.
            log_action(
                actor=actor,
                verb="actors.revision.withdrawn",
                obj=structure,
                data={"revision": revision.pk, "changes": revision.changes},
            )
            revision.delete()
        return None
    _validate(structure, changes)
    if revision is None:
        revision = StructureRevision.objects.create(structure=structure, proposed_by=actor, changes=diff)
        facilitators_notify(
            subject=f"Modification proposée pour « {structure.name} »",
            body=f"Bonjour,\n\n{actor} propose de modifier la fiche « {structure.name} » "
            f"({', '.join(history.field_label(field) for field in diff)}).\n"
            f"À relire : {site_url.rstrip('/')}{reverse('actors:revision_review', args=[revision.pk])}\n",
        )
    else:
        revision.changes = diff
        revision.save(update_fields=["changes", "updated_at"])
    log_action(
        actor=actor,
        verb="actors.revision.proposed",
        obj=structure,
        data={"revision": revision.pk, "fields": sorted(diff)},
    )
    return revision


def _pending(revision: StructureRevision) -> StructureRevision:
    locked = (
        # Only the proposal's row: the proposer is an outer join, which PostgreSQL cannot lock.
        StructureRevision.objects.select_for_update(of=("self",))
        .select_related("structure", "proposed_by")
        .get(pk=revision.pk)
    )
    if locked.status != RevisionStatus.PENDING:
        raise ValidationError("Cette proposition a déjà été traitée.")
    return locked


def _tell_proposer(revision: StructureRevision, subject: str, body: str) -> None:
    if revision.proposed_by is not None and revision.proposed_by.email:
        send_mail(subject, body, None, [revision.proposed_by.email])


@transaction.atomic
def revision_approve(
    *, revision: StructureRevision, actor, fields: list[str] | None = None, site_url: str = ""
) -> list[str]:
    """Apply a pending proposal (all its fields, or only ``fields``); return the fields that changed.

    The values go through ``structure_update`` with the structure as their source, so the change is kept in
    the card's history. Fields left out are dropped. The proposer is told by email. Raises ValidationError
    for a proposal already decided, no field chosen, a field not in the proposal, or values that are no
    longer valid (nothing is written then).
    """
    revision = _pending(revision)
    chosen = list(revision.changes) if fields is None else [f for f in revision.changes if f in set(fields)]
    if fields is not None and set(fields) - set(revision.changes):
        raise ValidationError("Ce champ ne fait pas partie de la proposition.")
    if not chosen:
        raise ValidationError("Choisissez au moins un champ à accepter, ou refusez la proposition.")
    values = {field: history.python_value(field, revision.changes[field]["new"]) for field in chosen}
    structure = Structure.objects.select_for_update().get(pk=revision.structure_id)
    changed = structure_update(
        structure=structure,
        actor=actor,
        source=Source.STRUCTURE,
        source_ref=f"proposition n° {revision.pk}",
        version_kind=VersionKind.MODERATED,
        version_note=f"Proposée par {revision.proposed_by or 'un compte supprimé'}",
        **values,
    )
    revision.status = (
        RevisionStatus.APPROVED if len(chosen) == len(revision.changes) else RevisionStatus.PARTIAL
    )
    revision.applied_fields = chosen
    revision.decided_by = actor
    revision.decided_at = timezone.now()
    revision.save(update_fields=["status", "applied_fields", "decided_by", "decided_at", "updated_at"])
    log_action(
        actor=actor,
        verb="actors.revision.approved",
        obj=structure,
        data={"revision": revision.pk, "fields": chosen, "changed": changed, "status": revision.status},
    )
    labels = ", ".join(history.field_label(field) for field in chosen)
    left_out = [history.field_label(field) for field in revision.changes if field not in chosen]
    url = site_url.rstrip("/") + reverse("actors:detail", args=[structure.slug])
    body = (
        f"Bonjour,\n\nL'équipe d'animation a accepté votre proposition pour la fiche « {structure.name} ».\n"
        f"Champs mis à jour : {labels}.\n"
    )
    if left_out:
        body += f"Champs non retenus : {', '.join(left_out)}.\n"
    _tell_proposer(revision, f"Fiche « {structure.name} » mise à jour", body + f"\nLa fiche : {url}\n")
    return changed


@transaction.atomic
def revision_reject(*, revision: StructureRevision, actor, reason: str) -> StructureRevision:
    """Refuse a pending proposal with a ``reason`` (required), sent to its author by email.

    Raises ValidationError for an empty reason or a proposal already decided.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Indiquez le motif du refus : il sera envoyé à la personne."})
    revision = _pending(revision)
    revision.status = RevisionStatus.REJECTED
    revision.reason = reason
    revision.decided_by = actor
    revision.decided_at = timezone.now()
    revision.save(update_fields=["status", "reason", "decided_by", "decided_at", "updated_at"])
    log_action(
        actor=actor,
        verb="actors.revision.rejected",
        obj=revision.structure,
        data={"revision": revision.pk, "reason": reason},
    )
    _tell_proposer(
        revision,
        f"Votre proposition pour « {revision.structure.name} »",
        f"Bonjour,\n\nL'équipe d'animation n'a pas retenu votre proposition de modification de la fiche "
        f"« {revision.structure.name} ».\n\nMotif : {reason}\n",
    )
    return revision


def _parse_pending_value(field: str, text: str):
    """A ``PendingChange`` value (text) as the Python value of ``field``."""
    if field in M2M_FIELDS or field not in EDITABLE_FIELDS:
        raise ValidationError(f"Le champ « {field} » ne peut pas être repris d'un import ici.")
    model_field = Structure._meta.get_field(field)
    is_boolean = model_field.get_internal_type() == "BooleanField"
    if is_boolean:
        return text.strip().lower() in ("true", "1", "o", "oui")
    if text == "":
        return None if model_field.null else ""
    if field == "commune":
        return history.python_value(field, int(text))
    if field == "legal_category":
        return history.python_value(field, text)
    return model_field.to_python(text)


@transaction.atomic
def pending_change_accept(*, change: PendingChange, actor) -> list[str]:
    """Apply an import's proposed value to the card; return the fields changed.

    The field keeps the import as its source and is marked verified (a facilitator chose it). The proposal
    is removed. Raises ValidationError (French) for a value that is not valid for the field.
    """
    change = PendingChange.objects.select_for_update().select_related("structure").get(pk=change.pk)
    try:
        value = _parse_pending_value(change.field, change.new_value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"Valeur proposée illisible pour « {change.field} ».") from exc
    structure = Structure.objects.select_for_update().get(pk=change.structure_id)
    changed = structure_update(
        structure=structure,
        actor=actor,
        source=change.source,
        source_ref=change.source_ref,
        version_kind=VersionKind.IMPORTED,
        version_note="Modification d'import acceptée par l'équipe d'animation",
        **{change.field: value},
    )
    FieldProvenance.objects.filter(structure=structure, field=change.field).update(verified_by_human=True)
    data = {"field": change.field, "old": change.old_value, "new": change.new_value, "source": change.source}
    change.delete()
    log_action(actor=actor, verb="actors.pending_change.accepted", obj=structure, data=data)
    return changed


@transaction.atomic
def pending_change_reject(*, change: PendingChange, actor) -> None:
    """Drop an import's proposed value: the card keeps its verified value. Logged with both values."""
    change = PendingChange.objects.select_for_update().select_related("structure").get(pk=change.pk)
    data = {"field": change.field, "old": change.old_value, "new": change.new_value, "source": change.source}
    change.delete()
    log_action(actor=actor, verb="actors.pending_change.rejected", obj=change.structure, data=data)


def pending_change_rows(change: PendingChange) -> dict:
    """A ``PendingChange`` for display: field label, current and proposed values in French."""
    label = history.field_label(change.field)
    return {
        "change": change,
        "label": label,
        "old": change.old_value or history.EMPTY,
        "new": change.new_value or history.EMPTY,
    }
