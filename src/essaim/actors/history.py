"""Versions of structure cards: every applied change, per field (old -> new), with who, when and from where.

Values are kept as JSON "stored values": foreign keys as primary keys, dates as ISO strings, taxonomies as
sorted lists of primary keys. ``stored_value`` reads one from a card, ``python_value`` turns one back into
what ``structure_update`` accepts, ``display_value`` into French text for people.
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import formats

from essaim.actors.models import Label, Source, Structure, StructureVersion, Theme, VersionKind
from essaim.core.audit import log_action

_FOREIGN_KEYS = {"commune", "legal_category"}
_M2M = {"themes": Theme, "labels": Label}
EMPTY = "(vide)"


def field_label(field: str) -> str:
    """The French name of a card field ("Site web")."""
    try:
        label = str(Structure._meta.get_field(field).verbose_name)
    except Exception:  # An unknown name (an old version's field) is shown as is.
        return field
    return label[:1].upper() + label[1:]


def stored_value(structure: Structure, field: str):
    """The JSON-serialisable stored value of ``field`` on ``structure``."""
    if field in _M2M:
        if structure.pk is None:
            return []
        return sorted(getattr(structure, field).values_list("pk", flat=True))
    if field in _FOREIGN_KEYS:
        return getattr(structure, f"{field}_id")
    return to_json(getattr(structure, field))


def to_json(value):
    """A Python field value as JSON (dates as ISO strings, model instances as primary keys)."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return value


def python_value(field: str, value):
    """A stored value turned back into what ``structure_update`` accepts (instances for foreign keys).

    Raises ValidationError (French) when a referenced commune or category no longer exists.
    """
    if field in _M2M:
        return list(value or [])
    model_field = Structure._meta.get_field(field)
    if field in _FOREIGN_KEYS:
        if value in (None, ""):
            return None
        target = model_field.related_model.objects.filter(pk=value).first()
        if target is None:
            raise ValidationError({field: f"{field_label(field)} : la valeur {value} n'existe plus."})
        return target
    if value is None:
        return None if model_field.null else model_field.get_default()
    return model_field.to_python(value)


def display_value(field: str, value) -> str:
    """A stored value as a person reads it, in French ("(vide)" when empty)."""
    if value in (None, "", []):
        return EMPTY
    if field in _M2M:
        labels = dict(_M2M[field].objects.filter(pk__in=value).values_list("pk", "label"))
        return ", ".join(labels.get(pk, f"n° {pk} (supprimé)") for pk in value)
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    try:
        model_field = Structure._meta.get_field(field)
    except Exception:  # Unknown field of an old version.
        return str(value)
    if field in _FOREIGN_KEYS:
        target = model_field.related_model.objects.filter(pk=value).first()
        return str(target) if target is not None else f"n° {value} (supprimé)"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.DateField):
        try:
            return formats.date_format(datetime.date.fromisoformat(value), "j F Y")
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def diff_rows(changes: dict) -> list[dict]:
    """``{field: {"old", "new"}}`` as rows for templates: field, label, old and new display values."""
    return [
        {
            "field": field,
            "label": field_label(field),
            "old": display_value(field, change.get("old")),
            "new": display_value(field, change.get("new")),
        }
        for field, change in changes.items()
    ]


def version_record(
    *,
    structure: Structure,
    actor,
    changes: dict,
    kind: str = VersionKind.UPDATED,
    source: str = Source.FACILITATOR,
    source_ref: str = "",
    note: str = "",
) -> StructureVersion | None:
    """Store one version of ``structure`` with ``changes`` (``{field: {"old", "new"}}``); None if empty.

    Called by the structure services inside their transaction: a rolled-back change leaves no version.
    """
    if not changes:
        return None
    return StructureVersion.objects.create(
        structure=structure,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        source=source,
        source_ref=source_ref[:200],
        note=note[:300],
        changes={field: {"old": to_json(c["old"]), "new": to_json(c["new"])} for field, c in changes.items()},
    )


def versions_record_bulk(
    rows: Iterable[tuple[int, dict]], *, source: str, source_ref: str = "", kind: str = VersionKind.IMPORTED
) -> int:
    """Store one version per ``(structure id, {field: {"old", "new"}})`` in one bulk insert (for imports
    that write cards without the services); returns how many were stored."""
    versions = [
        StructureVersion(
            structure_id=structure_id,
            kind=kind,
            source=source,
            source_ref=source_ref[:200],
            changes={f: {"old": to_json(c["old"]), "new": to_json(c["new"])} for f, c in changes.items()},
        )
        for structure_id, changes in rows
        if changes
    ]
    StructureVersion.objects.bulk_create(versions, batch_size=1000)
    return len(versions)


def state_at(version: StructureVersion) -> dict:
    """The values of the fields changed after ``version``, as they were right after it.

    For each field a later version changed, the value is the "old" of the first later change.
    """
    state: dict = {}
    later = StructureVersion.objects.filter(structure_id=version.structure_id, pk__gt=version.pk).order_by(
        "pk"
    )
    for later_version in later.only("changes"):
        for field, change in later_version.changes.items():
            state.setdefault(field, change.get("old"))
    return state


def restorable_changes(version: StructureVersion) -> dict:
    """``{field: {"old": current, "new": value at version}}`` for what restoring ``version`` would change."""
    from essaim.actors.services import EDITABLE_FIELDS, M2M_FIELDS

    structure = version.structure
    editable = set(EDITABLE_FIELDS) | set(M2M_FIELDS)
    result = {}
    for field, value in state_at(version).items():
        if field not in editable:
            continue  # The status has its own transitions (archive / restore).
        current = stored_value(structure, field)
        if current != value:
            result[field] = {"old": current, "new": value}
    return result


@transaction.atomic
def version_restore(*, version: StructureVersion, actor) -> list[str]:
    """Bring the card back to its values right after ``version``; return the fields changed.

    The restoration is itself a new version (kind "restored"). Raises ValidationError (French) when a
    restored value is no longer valid (a SIREN now used by another card, a deleted commune...): nothing is
    written then. Permission is checked by the caller (``actors.access.structure_can_restore``).
    """
    from essaim.actors.services import structure_update

    structure = Structure.objects.select_for_update().get(pk=version.structure_id)
    version.structure = structure
    changes = {field: python_value(field, c["new"]) for field, c in restorable_changes(version).items()}
    changed = structure_update(
        structure=structure,
        actor=actor,
        source=Source.FACILITATOR,
        source_ref=f"restauration de la version n° {version.pk}",
        version_kind=VersionKind.RESTORED,
        **changes,
    )
    log_action(
        actor=actor,
        verb="actors.structure.version_restored",
        obj=structure,
        data={"version": version.pk, "fields": changed},
    )
    return changed
