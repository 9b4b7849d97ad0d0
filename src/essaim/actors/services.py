"""Writes on structures and memberships. Every business action goes to the audit log."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from essaim.actors.models import (
    STATUS_TRANSITIONS,
    Membership,
    MembershipRole,
    Status,
    Structure,
)
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
)


def _search_name(structure: Structure) -> str:
    return normalize(f"{structure.name} {structure.acronym}")[:260]


def _unique_slug(name: str) -> str:
    base = slugify(name)[:190] or "structure"
    slug, n = base, 2
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
) -> Structure:
    """Create a structure card (a draft by default) and log it.

    The slug is derived from the name (made unique) unless given. Raises ValidationError (French
    messages, per field) on invalid data, e.g. a cooperative without its kind or an unknown family.
    """
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
    )
    structure.search_name = _search_name(structure)
    structure.full_clean()
    structure.save()
    log_action(
        actor=actor,
        verb="actors.structure.created",
        obj=structure,
        data={"slug": structure.slug, "family": structure.family, "status": structure.status},
    )
    return structure


@transaction.atomic
def structure_update(*, structure: Structure, actor, **changes) -> list[str]:
    """Change some fields of ``structure``; return the names of the fields that really changed.

    Only ``EDITABLE_FIELDS`` may be changed (TypeError otherwise). Nothing is written or logged when
    nothing changes. Raises ValidationError on invalid data, leaving the database untouched.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Champs non modifiables : {', '.join(sorted(unknown))}")
    changed = []
    for field, value in changes.items():
        if isinstance(value, str):
            value = value.strip().lower() if field == "email" else value.strip()
        current = getattr(structure, "commune_id" if field == "commune" else field)
        new = value.pk if field == "commune" and value is not None else value
        if current != new:
            setattr(structure, field, value)
            changed.append(field)
    if not changed:
        return []
    structure.search_name = _search_name(structure)
    structure.full_clean()
    structure.save(update_fields=[*changed, "search_name", "updated_at"])
    log_action(actor=actor, verb="actors.structure.updated", obj=structure, data={"fields": changed})
    return changed


@transaction.atomic
def structure_set_status(*, structure: Structure, status: str, actor) -> Structure:
    """Move ``structure`` to ``status`` along an allowed transition (see STATUS_TRANSITIONS) and log it.

    Setting the current status again is a no-op. Raises ValidationError for a forbidden transition.
    Permission to do so is checked by the caller (see ``actors.access``).
    """
    if status not in Status.values:
        raise ValidationError({"status": "État inconnu."})
    previous = structure.status
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
