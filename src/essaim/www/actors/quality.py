"""Facilitator page: cards by quality score, with what each one lacks and the stale flag."""

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from essaim.actors.access import can_see_quality
from essaim.actors.models import Status
from essaim.actors.quality import (
    CRITERIA,
    CRITERIA_BY_KEY,
    STALE_AFTER_MONTHS,
    is_stale,
    missing_labels,
    quality_queryset,
    stale_condition,
)
from essaim.core.access import deny_unless

PAGE_SIZE = 50
ORDERS = {
    "score": ("quality_score", "name", "pk"),
    "-score": ("-quality_score", "name", "pk"),
    "nom": ("name", "pk"),
    "verification": ("last_verified_at", "name", "pk"),
}


class QualityFilterForm(forms.Form):
    """Filters of the quality page; an invalid value is shown in error and ignored."""

    manque = forms.ChoiceField(
        label="Information manquante",
        required=False,
        choices=[("", "Peu importe"), *((criterion.key, criterion.label) for criterion in CRITERIA)],
    )
    etat = forms.ChoiceField(
        label="État",
        required=False,
        choices=[
            ("", "Tous (sauf archivées)"),
            (Status.PUBLISHED, "Publiées"),
            (Status.PENDING, "En attente de relecture"),
            (Status.DRAFT, "Brouillons"),
        ],
    )
    a_actualiser = forms.BooleanField(
        label="Seulement les fiches à actualiser",
        required=False,
    )
    ordre = forms.ChoiceField(
        label="Trier par",
        required=False,
        choices=[
            ("score", "Score croissant"),
            ("-score", "Score décroissant"),
            ("nom", "Nom"),
            ("verification", "Vérification la plus ancienne"),
        ],
    )


@require_GET
def quality_list(request):
    """Cards (not archived) sorted by their stored quality score, lowest first; facilitators only (404)."""
    deny_unless(can_see_quality(request.user))
    form = QualityFilterForm(request.GET or None)
    filters = {}
    if form.is_bound:
        form.is_valid()  # fields in error are left out of cleaned_data, hence ignored
        filters = form.cleaned_data
    today = timezone.localdate()
    structures = quality_queryset().select_related("commune")
    if filters.get("manque"):
        structures = structures.exclude(CRITERIA_BY_KEY[filters["manque"]].q())
    if filters.get("etat"):
        structures = structures.filter(status=filters["etat"])
    if filters.get("a_actualiser"):
        structures = structures.filter(stale_condition(today))
    structures = structures.order_by(*ORDERS[filters.get("ordre") or "score"])
    page = Paginator(structures, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"structure": structure, "missing": missing_labels(structure), "stale": is_stale(structure, today)}
        for structure in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "stale_months": STALE_AFTER_MONTHS,
    }
    return render(request, "actors/quality/list.html", context)
