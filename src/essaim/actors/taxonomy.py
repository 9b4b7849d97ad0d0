"""Facilitator-editable taxonomies (ESS themes, networks and labels): create, rename, merge, archive.

A term in use is never deleted: it is archived (hidden from choice lists and filters, kept on the cards that
have it) or merged into another term (its structures move to the other term, then it is deleted). Every
change goes to the audit log.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from essaim.actors.models import Label, Structure, Theme
from essaim.actors.quality import quality_refresh
from essaim.actors.search import structures_reindex
from essaim.core.audit import log_action

TAXONOMIES = {"themes": Theme, "labels": Label}
MAX_LABEL_LENGTH = 150


def _verb(model, action: str) -> str:
    return f"actors.{model._meta.model_name}.{action}"


def _clean_label(model, label: str, *, exclude_pk=None) -> str:
    label = " ".join((label or "").split())
    if not label:
        raise ValidationError({"label": "Le libellé est obligatoire."})
    if len(label) > MAX_LABEL_LENGTH:
        raise ValidationError({"label": f"Le libellé compte au plus {MAX_LABEL_LENGTH} caractères."})
    clash = model.objects.annotate(lower_label=Lower("label")).filter(lower_label=label.lower())
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"label": f"« {label} » existe déjà : fusionnez plutôt les deux entrées."})
    return label


def _unique_slug(model, label: str) -> str:
    base = slugify(label)[:70] or "entree"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug = f"{base}-{n}"
        n += 1
    return slug


def term_usage(term) -> int:
    """How many structures carry ``term``."""
    return term.structures.count()


@transaction.atomic
def term_create(*, model, label: str, actor, position: int | None = None):
    """Create a theme or label (``model`` is Theme or Label) named ``label``; slug derived from it.

    Raises ValidationError (French) for an empty, too long or already used label (case-insensitive).
    """
    if model not in TAXONOMIES.values():
        raise TypeError(f"Pas une taxonomie : {model!r}")
    label = _clean_label(model, label)
    if position is None:
        position = (model.objects.aggregate(last=models.Max("position"))["last"] or 0) + 1
    try:
        with transaction.atomic():
            term = model.objects.create(slug=_unique_slug(model, label), label=label, position=position)
    except IntegrityError:  # a concurrent creation of the same label
        raise ValidationError({"label": f"« {label} » existe déjà."}) from None
    log_action(actor=actor, verb=_verb(model, "created"), obj=term, data={"slug": term.slug, "label": label})
    return term


@transaction.atomic
def term_rename(*, term, label: str, actor) -> bool:
    """Change the label of ``term`` (its slug, used in addresses and filters, stays); returns whether it
    changed. Raises ValidationError for an empty, too long or already used label."""
    model = type(term)
    label = _clean_label(model, label, exclude_pk=term.pk)
    if label == term.label:
        return False
    previous = term.label
    term.label = label
    term.save(update_fields=["label"])
    # Term labels are part of the structures' search documents.
    structures_reindex(ids=term.structures.values_list("pk", flat=True))
    log_action(actor=actor, verb=_verb(model, "renamed"), obj=term, data={"from": previous, "to": label})
    return True


@transaction.atomic
def term_archive(*, term, actor) -> bool:
    """Hide ``term`` from choice lists and filters (cards keep it); returns False if already archived."""
    if term.archived_at is not None:
        return False
    term.archived_at = timezone.now()
    term.save(update_fields=["archived_at"])
    _refresh_quality_of(term)
    log_action(actor=actor, verb=_verb(type(term), "archived"), obj=term, data={"usage": term_usage(term)})
    return True


@transaction.atomic
def term_restore(*, term, actor) -> bool:
    """Offer an archived term again; returns False if it was not archived."""
    if term.archived_at is None:
        return False
    term.archived_at = None
    term.save(update_fields=["archived_at"])
    _refresh_quality_of(term)
    log_action(actor=actor, verb=_verb(type(term), "restored"), obj=term, data={})
    return True


@transaction.atomic
def term_delete(*, term, actor) -> None:
    """Delete an unused term. Raises ValidationError when structures carry it (archive or merge it)."""
    usage = term_usage(term)
    if usage:
        raise ValidationError(
            f"« {term.label} » est utilisée par {usage} structure(s) : archivez-la ou fusionnez-la plutôt."
        )
    log_action(
        actor=actor,
        verb=_verb(type(term), "deleted"),
        obj=term,
        data={"slug": term.slug, "label": term.label},
    )
    term.delete()


def _refresh_quality_of(term) -> None:
    # Only themes count in the quality score; labels do not.
    if isinstance(term, Theme):
        quality_refresh(queryset=Structure.objects.filter(themes=term))


def _move_relations(source, target) -> int:
    """Point every relation to ``source`` (many-to-many rows, foreign keys) at ``target``; returns the number
    of structures that carried ``source``. A row that would duplicate an existing one is dropped."""
    moved = source.structures.count()
    for relation in type(source)._meta.related_objects:
        if relation.many_to_many:
            through = relation.through
            field = relation.field  # the ManyToManyField, on the other model
            owner, term = field.m2m_field_name(), field.m2m_reverse_field_name()
            already = through.objects.filter(**{term: target}).values(f"{owner}_id")
            through.objects.filter(**{term: source, f"{owner}_id__in": already}).delete()
            through.objects.filter(**{term: source}).update(**{term: target})
        elif relation.one_to_many or relation.one_to_one:
            relation.related_model._base_manager.filter(**{relation.field.name: source}).update(
                **{relation.field.name: target}
            )
    return moved


@transaction.atomic
def term_merge(*, source, target, actor) -> int:
    """Merge ``source`` into ``target`` (same taxonomy): every structure carrying ``source`` now carries
    ``target``, then ``source`` is deleted. Returns the number of structures moved.

    Raises ValidationError when the two are the same term or of different taxonomies, or when ``target``
    is archived (restore it first).
    """
    if type(source) is not type(target):
        raise ValidationError("On ne fusionne que deux entrées de la même liste.")
    if source.pk == target.pk:
        raise ValidationError("Choisissez une autre entrée que celle à fusionner.")
    if target.archived_at is not None:
        raise ValidationError(
            f"« {target.label} » est archivée : réactivez-la avant d'y fusionner une entrée."
        )
    model = type(source)
    # Lock both rows: a concurrent merge of the same terms waits instead of losing structures.
    list(model.objects.select_for_update().filter(pk__in=[source.pk, target.pk]))
    affected = list(source.structures.values_list("pk", flat=True))
    moved = _move_relations(source, target)
    log_action(
        actor=actor,
        verb=_verb(model, "merged"),
        obj=target,
        data={"from_slug": source.slug, "from_label": source.label, "structures": moved},
    )
    source.delete()
    structures_reindex(ids=affected)
    if model is Theme:
        quality_refresh(queryset=Structure.objects.filter(pk__in=affected))
    return moved
