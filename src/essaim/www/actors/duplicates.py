"""Facilitator pages for duplicate cards: candidate pairs, "not a duplicate", field-by-field merge."""

import hashlib

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from essaim.actors.access import can_manage_duplicates
from essaim.actors.duplicates import (
    KEEP,
    MERGE_FIELDS,
    REMOVE,
    DuplicateCandidate,
    duplicate_candidates,
    duplicate_dismiss,
    merge_differing_fields,
    merge_values,
    structures_merge,
)
from essaim.actors.models import DuplicateDismissal, Establishment, Structure

LIST_LIMIT = 100
# The candidates are recomputed when the data changes; this bounds the age of a cached list anyway.
CANDIDATES_CACHE_SECONDS = 15 * 60
FIRST, SECOND = "first", "second"


def _require_facilitator(request) -> None:
    if not can_manage_duplicates(request.user):
        raise Http404("Page introuvable.")


def _pair(first: int, second: int) -> tuple[Structure, Structure]:
    if first == second:
        raise Http404("Une fiche ne se compare pas à elle-même.")
    queryset = Structure.objects.select_related("commune", "legal_category")
    return get_object_or_404(queryset, pk=first), get_object_or_404(queryset, pk=second)


def display_value(structure: Structure, key: str) -> str:
    """A merge field's value as a person reads it ("(vide)" when empty)."""
    names = MERGE_FIELDS[key][1:]
    if key == "point":
        values = merge_values(structure, key)
        return "(vide)" if values[0] is None else f"{values[0]:.5f}, {values[1]:.5f}"
    parts = []
    for name in names:
        value = getattr(structure, name)
        if isinstance(value, bool):
            parts.append("Oui" if value else "Non")
            continue
        display = getattr(structure, f"get_{name}_display", None)
        if value not in ("", None):
            parts.append(str(display() if display else value))
    return " — ".join(parts) or "(vide)"


class MergeForm(forms.Form):
    """Which card stays, then one radio group per differing field (which card's value wins)."""

    keep = forms.ChoiceField(label="Fiche conservée", widget=forms.RadioSelect)

    def __init__(self, *args, first: Structure, second: Structure, **kwargs):
        super().__init__(*args, **kwargs)
        self.first, self.second = first, second
        self.fields["keep"].choices = [
            (FIRST, f"{first.name} (n° {first.pk})"),
            (SECOND, f"{second.name} (n° {second.pk})"),
        ]
        self.fields["keep"].initial = FIRST
        self.differing = merge_differing_fields(first, second)
        for key in self.differing:
            first_value, second_value = display_value(first, key), display_value(second, key)
            self.fields[f"field_{key}"] = forms.ChoiceField(
                label=MERGE_FIELDS[key][0],
                widget=forms.RadioSelect,
                choices=[(FIRST, first_value), (SECOND, second_value)],
                # The first card's value unless it is empty and the other is not.
                initial=SECOND if first_value == "(vide)" else FIRST,
            )

    def field_choices(self) -> dict[str, str]:
        kept_side = self.cleaned_data["keep"]
        return {
            key: KEEP if self.cleaned_data[f"field_{key}"] == kept_side else REMOVE for key in self.differing
        }

    def kept_and_removed(self) -> tuple[Structure, Structure]:
        if self.cleaned_data["keep"] == FIRST:
            return self.first, self.second
        return self.second, self.first


def _data_fingerprint() -> str:
    """What the candidates depend on, in a few aggregates: any write on the cards (services and imports set
    ``updated_at``), their establishments or the dismissals changes it."""
    parts = [
        Structure.objects.aggregate(n=Count("pk"), last=Max("updated_at")),
        Establishment.objects.aggregate(n=Count("pk"), last=Max("updated_at")),
        DuplicateDismissal.objects.aggregate(n=Count("pk"), last=Max("pk")),
    ]
    text = "|".join(f"{part['n']}:{part['last']}" for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_duplicate_candidates(*, limit: int) -> list[DuplicateCandidate]:
    """``duplicate_candidates(limit=limit)``, computed once per state of the data (see _data_fingerprint)
    and kept in the cache for CANDIDATES_CACHE_SECONDS at most (a safety net for writes that bypass
    ``updated_at``, such as a commune's point)."""
    key = f"actors:duplicates:{limit}:{_data_fingerprint()}"
    cached = cache.get(key)
    if cached is None:
        cached = [
            (candidate.first.pk, candidate.second.pk, candidate.reasons, candidate.score)
            for candidate in duplicate_candidates(limit=limit)
        ]
        cache.set(key, cached, CANDIDATES_CACHE_SECONDS)
    structures = Structure.objects.select_related("commune").in_bulk(
        {pk for first, second, _reasons, _score in cached for pk in (first, second)}
    )
    return [
        DuplicateCandidate(structures[first], structures[second], reasons, score)
        for first, second, reasons, score in cached
        if first in structures and second in structures
    ]


def duplicate_list(request):
    """Candidate pairs with their reasons, strongest first (facilitators only, 404 otherwise)."""
    _require_facilitator(request)
    candidates = cached_duplicate_candidates(limit=LIST_LIMIT)
    return render(request, "actors/duplicates/list.html", {"candidates": candidates, "limit": LIST_LIMIT})


@require_POST
def dismiss(request, first: int, second: int):
    """Remember that the two cards are not the same structure, then back to the list."""
    _require_facilitator(request)
    first_structure, second_structure = _pair(first, second)
    duplicate_dismiss(first=first_structure, second=second_structure, actor=request.user)
    messages.success(
        request,
        f"« {first_structure.name} » et « {second_structure.name} » ne seront plus proposées comme doublons.",
    )
    return redirect("actors:duplicates")


@require_http_methods(["GET", "POST"])
def merge(request, first: int, second: int):
    """Field-by-field comparison of two cards; POST merges them into the chosen card."""
    _require_facilitator(request)
    first_structure, second_structure = _pair(first, second)
    if first_structure.merged_into_id or second_structure.merged_into_id:
        messages.error(request, "Une de ces fiches a déjà été fusionnée dans une autre.")
        return redirect("actors:duplicates")
    form = MergeForm(request.POST or None, first=first_structure, second=second_structure)
    if request.method == "POST" and form.is_valid():
        keep, remove = form.kept_and_removed()
        try:
            structures_merge(keep=keep, remove=remove, field_choices=form.field_choices(), actor=request.user)
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"« {remove.name} » a été fusionnée dans « {keep.name} ».")
            return redirect(reverse("actors:detail", args=[keep.slug]))
    rows = [
        {
            "label": label,
            "first": display_value(first_structure, key),
            "second": display_value(second_structure, key),
            "differs": key in form.differing,
        }
        for key, (label, *_names) in MERGE_FIELDS.items()
    ]
    context = {
        "form": form,
        "first": first_structure,
        "second": second_structure,
        "rows": rows,
        "field_groups": [form[f"field_{key}"] for key in form.differing],
        "counts": [
            (
                label,
                getattr(first_structure, accessor).count(),
                getattr(second_structure, accessor).count(),
            )
            for label, accessor in (
                ("Établissements", "establishments"),
                ("Membres", "memberships"),
                ("Thématiques", "themes"),
                ("Réseaux et labels", "labels"),
            )
        ],
    }
    return render(request, "actors/duplicates/merge.html", context, status=400 if form.errors else 200)
