"""Writes on structures and memberships. Every business action goes to the audit log."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from essaim.actors import history
from essaim.actors.geo import MAP_FIELDS, map_sync
from essaim.actors.models import (
    HUMAN_SOURCES,
    STATUS_TRANSITIONS,
    FieldProvenance,
    Label,
    Membership,
    MembershipRole,
    Source,
    Status,
    Structure,
    Theme,
    VersionKind,
)
from essaim.actors.quality import structure_quality_refresh
from essaim.actors.search import structures_reindex
from essaim.core.audit import log_action
from essaim.core.text import normalize

# Fields a service may set on a structure (status has its own transition service).
EDITABLE_FIELDS = (
    "name",
    "acronym",
    "family",
    "cooperative_kind",
    "commune",
    "address",
    "website",
    "email",
    "description",
    "siren",
    "rna",
    "legal_category",
    "is_societe_mission",
    "naf_code",
    "naf_label",
    "phone",
    "headcount_band",
    "creation_date",
    "opening_hours",
    "latitude",
    "longitude",
    "sirene_ess_flag",
)
# Many-to-many fields a service may set (lists of Theme / Label).
M2M_FIELDS = ("themes", "labels")
_FOREIGN_KEYS = ("commune", "legal_category")


def _clean_value(field: str, value):
    if isinstance(value, str):
        return value.strip().lower() if field == "email" else value.strip()
    return value


def _comparable(field: str, value):
    """The value as stored in the structure's column (primary key for a foreign key)."""
    if field in _FOREIGN_KEYS and value is not None:
        return getattr(value, "pk", value)
    return value


def _record_provenance(*, structure: Structure, fields, source: str, source_ref: str = "") -> None:
    """Record that ``fields`` of ``structure`` now come from ``source`` (verified if typed by a person)."""
    if source not in Source.values:
        raise ValidationError({"source": "Source inconnue."})
    now = timezone.now()
    for field in fields:
        FieldProvenance.objects.update_or_create(
            structure=structure,
            field=field,
            defaults={
                "source": source,
                "source_ref": source_ref[:200],
                "recorded_at": now,
                "verified_by_human": source in HUMAN_SOURCES,
            },
        )


def _set_m2m(structure: Structure, changes: dict) -> list[str]:
    changed = []
    for field, model in (("themes", Theme), ("labels", Label)):
        if field not in changes:
            continue
        wanted = {getattr(item, "pk", item) for item in changes[field]}
        if set(getattr(structure, field).values_list("pk", flat=True)) != wanted:
            if model.objects.filter(pk__in=wanted).count() != len(wanted):
                raise ValidationError({field: "Élément inconnu dans la liste."})
            getattr(structure, field).set(wanted)
            changed.append(field)
    return changed


def _search_name(structure: Structure) -> str:
    return normalize(f"{structure.name} {structure.acronym}")[:260]


# Paths under /annuaire/ that a card's slug must never take (the card's route comes last and would be
# shadowed, or would shadow them).
RESERVED_SLUGS = frozenset(
    {
        "doublons",
        "export",
        "exports",
        "imports",
        "import",
        "nouvelle",
        "nouveau",
        "gestion",
        "moderation",
        "carte",
        "recherche",
        "qualite",
        "fraicheur",
        "thematiques",
        "admin",
        "api",
    }
)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:190] or "structure"
    slug, n = base, 2
    if slug in RESERVED_SLUGS:
        slug = f"{base}-{n}"
        n += 1
    while Structure.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


@transaction.atomic
def structure_create(
    *,
    name: str,
    family: str,
    actor,
    slug: str = "",
    acronym: str = "",
    cooperative_kind: str = "",
    commune=None,
    address: str = "",
    website: str = "",
    email: str = "",
    description: str = "",
    status: str = Status.DRAFT,
    source: str = Source.FACILITATOR,
    source_ref: str = "",
    **card,
) -> Structure:
    """Create a structure card (a draft by default) and log it.

    ``card`` holds the other fields of ``EDITABLE_FIELDS`` (siren, rna, legal_category, phone, ...) and the
    ``themes`` / ``labels`` lists. The provenance of every filled field is recorded as ``source``. The slug is
    derived from the name (made unique) unless given. Raises ValidationError (French messages, per field) on
    invalid data, e.g. a cooperative without its kind, an unknown family or a SIREN with a wrong check digit;
    TypeError for a field that is not editable.
    """
    unknown = set(card) - set(EDITABLE_FIELDS) - set(M2M_FIELDS)
    if unknown:
        raise TypeError(f"Champs non modifiables : {', '.join(sorted(unknown))}")
    m2m = {field: card.pop(field) for field in M2M_FIELDS if field in card}
    if slug in RESERVED_SLUGS:
        raise ValidationError({"slug": "Cet identifiant d'adresse est réservé par l'annuaire."})
    structure = Structure(
        name=name.strip(),
        slug=slug or _unique_slug(name),
        acronym=acronym.strip(),
        family=family,
        cooperative_kind=cooperative_kind,
        commune=commune,
        address=address.strip(),
        website=website.strip(),
        email=email.strip().lower(),
        description=description.strip(),
        status=status,
        origin_source=source,
        origin_ref=source_ref[:200],
        **{field: _clean_value(field, value) for field, value in card.items()},
    )
    structure.search_name = _search_name(structure)
    structure.full_clean()
    structure.save()
    filled = [
        field
        for field in EDITABLE_FIELDS
        if getattr(structure, f"{field}_id" if field in _FOREIGN_KEYS else field) not in ("", None, False)
    ]
    filled += _set_m2m(structure, m2m)
    structures_reindex(ids=[structure.pk])
    map_sync(structure_ids=[structure.pk])
    _record_provenance(structure=structure, fields=filled, source=source, source_ref=source_ref)
    history.version_record(
        structure=structure,
        actor=actor,
        kind=VersionKind.CREATED,
        source=source,
        source_ref=source_ref,
        changes={field: {"old": None, "new": history.stored_value(structure, field)} for field in filled},
    )
    log_action(
        actor=actor,
        verb="actors.structure.created",
        obj=structure,
        data={"slug": structure.slug, "family": structure.family, "status": structure.status},
    )
    structure_quality_refresh(structure)
    return structure


@transaction.atomic
def structure_update(
    *,
    structure: Structure,
    actor,
    source: str = Source.FACILITATOR,
    source_ref: str = "",
    version_kind: str = VersionKind.UPDATED,
    version_note: str = "",
    **changes,
) -> list[str]:
    """Change some fields of ``structure``; return the names of the fields that really changed.

    Only ``EDITABLE_FIELDS`` and ``M2M_FIELDS`` may be changed (TypeError otherwise). The provenance of the
    changed fields becomes ``source`` (verified by a human for the facilitator and structure sources).
    Nothing is written or logged when nothing changes. Raises ValidationError on invalid data, leaving the
    database untouched. The change is kept as a version (``actors.history``) of kind ``version_kind``.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS) - set(M2M_FIELDS)
    if unknown:
        raise TypeError(f"Champs non modifiables : {', '.join(sorted(unknown))}")
    m2m = {field: changes.pop(field) for field in M2M_FIELDS if field in changes}
    changed = []
    before = {}
    for field, value in changes.items():
        value = _clean_value(field, value)
        current = getattr(structure, f"{field}_id" if field in _FOREIGN_KEYS else field)
        if current != _comparable(field, value):
            before[field] = history.stored_value(structure, field)
            setattr(structure, field, value)
            changed.append(field)
    before.update({field: history.stored_value(structure, field) for field in m2m})
    if changed:
        structure.search_name = _search_name(structure)
        structure.full_clean()
        structure.save(update_fields=[*changed, "search_name", "updated_at"])
    changed += _set_m2m(structure, m2m)
    if not changed:
        return []
    structures_reindex(ids=[structure.pk])
    if MAP_FIELDS.intersection(changed):
        map_sync(structure_ids=[structure.pk])
    _record_provenance(structure=structure, fields=changed, source=source, source_ref=source_ref)
    history.version_record(
        structure=structure,
        actor=actor,
        kind=version_kind,
        source=source,
        source_ref=source_ref,
        note=version_note,
        changes={
            field: {"old": before[field], "new": history.stored_value(structure, field)} for field in changed
        },
    )
    log_action(actor=actor, verb="actors.structure.updated", obj=structure, data={"fields": changed})
    structure_quality_refresh(structure)
    return changed


@transaction.atomic
def structure_verify(
    *, structure: Structure, actor, on: datetime.date | None = None, source: str = Source.FACILITATOR
) -> Structure:
    """Record that a person checked the whole card: "last verified" date set to ``on`` (today by default)
    and every field's provenance marked verified, so imports will not overwrite them silently.

    ``source`` says who vouched for the card (the facilitators, or the structure itself through the
    freshness reminder's link); it goes to the audit log. Raises ValidationError for an unknown source."""
    if source not in HUMAN_SOURCES:
        raise ValidationError({"source": "Seule une personne peut vérifier une fiche."})
    structure.last_verified_at = on or timezone.localdate()
    structure.save(update_fields=["last_verified_at", "updated_at"])
    # Fields still carrying the card's origin get their own row, so that the verification sticks to them.
    have_rows = set(structure.provenances.values_list("field", flat=True))
    FieldProvenance.objects.bulk_create(
        [
            FieldProvenance(
                structure=structure,
                field=item["field"],
                source=item["source"],
                source_ref=item["source_ref"][:200],
                recorded_at=item["recorded_at"],
            )
            for item in structure.field_provenances()
            if item["field"] not in have_rows
        ]
    )
    structure.provenances.update(verified_by_human=True)
    log_action(
        actor=actor,
        verb="actors.structure.verified",
        obj=structure,
        data={"on": structure.last_verified_at.isoformat(), "source": source},
    )
    structure_quality_refresh(structure)
    return structure


@transaction.atomic
def structure_set_status(*, structure: Structure, status: str, actor) -> Structure:
    """Move ``structure`` to ``status`` along an allowed transition (see STATUS_TRANSITIONS) and log it.

    Setting the current status again is a no-op. Raises ValidationError for a forbidden transition.
    Permission to do so is checked by the caller (see ``actors.access``).
    """
    if status not in Status.values:
        raise ValidationError({"status": "État inconnu."})
    # Check the transition against the stored status under a row lock: two concurrent requests must not
    # both pass the check from the same stale in-memory status.
    previous = Structure.objects.select_for_update().values_list("status", flat=True).get(pk=structure.pk)
    structure.status = previous
    if status == previous:
        return structure
    if status not in STATUS_TRANSITIONS[previous]:
        raise ValidationError(
            {
                "status": f"Passage impossible de l'état « {Status(previous).label} » "
                f"à l'état « {Status(status).label} »."
            }
        )
    structure.status = status
    structure.save(update_fields=["status", "updated_at"])
    map_sync(structure_ids=[structure.pk])
    history.version_record(
        structure=structure,
        actor=actor,
        kind=VersionKind.STATUS,
        source=Source.FACILITATOR if getattr(actor, "is_facilitator", True) else Source.STRUCTURE,
        changes={"status": {"old": previous, "new": status}},
    )
    log_action(
        actor=actor,
        verb="actors.structure.status_changed",
        obj=structure,
        data={"from": previous, "to": status},
    )
    return structure


def structure_submit(*, structure: Structure, actor) -> Structure:
    """Send a draft for review by a facilitator."""
    return structure_set_status(structure=structure, status=Status.PENDING, actor=actor)


def structure_publish(*, structure: Structure, actor) -> Structure:
    return structure_set_status(structure=structure, status=Status.PUBLISHED, actor=actor)


def structure_archive(*, structure: Structure, actor) -> Structure:
    return structure_set_status(structure=structure, status=Status.ARCHIVED, actor=actor)


def structure_restore(*, structure: Structure, actor) -> Structure:
    """Bring an archived (or unpublish a published) structure back to draft."""
    return structure_set_status(structure=structure, status=Status.DRAFT, actor=actor)


@transaction.atomic
def membership_add(*, user, structure: Structure, actor, role: str = MembershipRole.MEMBER) -> Membership:
    """Make ``user`` a member of ``structure`` with ``role`` (idempotent) and log it.

    If the person is already a member, only the role is updated (and logged) when it differs.
    Raises ValidationError for an unknown role.
    """
    if role not in MembershipRole.values:
        raise ValidationError({"role": "Rôle inconnu."})
    membership = Membership.objects.select_for_update().filter(user=user, structure=structure).first()
    if membership is None:
        membership = Membership.objects.create(user=user, structure=structure, role=role)
        log_action(
            actor=actor, verb="actors.membership.added", obj=structure, data={"user": user.pk, "role": role}
        )
    elif membership.role != role:
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        log_action(
            actor=actor,
            verb="actors.membership.role_changed",
            obj=structure,
            data={"user": user.pk, "from": previous, "to": role},
        )
    return membership


@transaction.atomic
def membership_remove(*, user, structure: Structure, actor) -> bool:
    """Remove ``user`` from ``structure``; return whether they were a member."""
    deleted, _ = Membership.objects.filter(user=user, structure=structure).delete()
    if deleted:
        log_action(actor=actor, verb="actors.membership.removed", obj=structure, data={"user": user.pk})
    return bool(deleted)
