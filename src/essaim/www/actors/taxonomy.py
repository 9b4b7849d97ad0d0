"""Facilitator pages for the themes and the networks/labels: list, create, rename, merge, archive."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from essaim.actors.access import can_manage_taxonomy
from essaim.actors.taxonomy import (
    MAX_LABEL_LENGTH,
    TAXONOMIES,
    term_archive,
    term_create,
    term_delete,
    term_merge,
    term_rename,
    term_restore,
)
from essaim.core.access import deny_unless

# Per kind: (page title, singular noun, list URL name, detail URL name).
KINDS = {
    "themes": ("Thématiques ESS", "thématique", "actors:themes", "actors:theme_detail"),
    "labels": ("Réseaux et labels", "réseau ou label", "actors:labels", "actors:label_detail"),
}


class TermLabelForm(forms.Form):
    label = forms.CharField(label="Libellé", max_length=MAX_LABEL_LENGTH)


class TermMergeForm(forms.Form):
    target = forms.ModelChoiceField(
        label="Fusionner dans",
        queryset=None,
        empty_label="Choisir l'entrée qui reste",
        help_text="Les structures de cette entrée passent à l'entrée choisie, puis cette entrée disparaît.",
    )

    def __init__(self, *args, term, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = type(term).objects.active().exclude(pk=term.pk)


def _apply_errors(form: forms.Form, error: ValidationError, field: str) -> None:
    if hasattr(error, "error_dict"):
        for messages_ in error.message_dict.values():
            for message in messages_:
                form.add_error(field, message)
    else:
        for message in error.messages:
            form.add_error(field, message)


@require_http_methods(["GET", "POST"])
def term_list(request, kind: str):
    """All the terms of one taxonomy with their usage; POST creates one. Facilitators only (404)."""
    deny_unless(can_manage_taxonomy(request.user))
    model = TAXONOMIES[kind]
    title, noun, list_url, detail_url = KINDS[kind]
    form = TermLabelForm(request.POST or None, prefix="nouvelle")
    if request.method == "POST" and form.is_valid():
        try:
            term = term_create(model=model, label=form.cleaned_data["label"], actor=request.user)
        except ValidationError as error:
            _apply_errors(form, error, "label")
        else:
            messages.success(request, f"« {term.label} » a été ajoutée.")
            return redirect(list_url)
    terms = model.objects.annotate(usage=Count("structures")).order_by("position", "label")
    context = {
        "title": title,
        "noun": noun,
        "kind": kind,
        "detail_url": detail_url,
        "form": form,
        "active_terms": [term for term in terms if term.archived_at is None],
        "archived_terms": [term for term in terms if term.archived_at is not None],
    }
    return render(request, "actors/taxonomy/list.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def term_detail(request, kind: str, pk: int):
    """One term: rename, merge into another, archive/restore, delete when unused. Facilitators only."""
    deny_unless(can_manage_taxonomy(request.user))
    model = TAXONOMIES[kind]
    title, noun, list_url, _detail_url = KINDS[kind]
    term = get_object_or_404(model, pk=pk)
    action = request.POST.get("action") if request.method == "POST" else None
    rename_form = TermLabelForm(
        request.POST if action == "rename" else None, initial={"label": term.label}, prefix="renommer"
    )
    merge_form = TermMergeForm(request.POST if action == "merge" else None, term=term, prefix="fusion")
    errors = []
    if action == "rename" and rename_form.is_valid():
        try:
            if term_rename(term=term, label=rename_form.cleaned_data["label"], actor=request.user):
                messages.success(request, f"L'entrée s'appelle désormais « {term.label} ».")
            return redirect(reverse(_detail_url, args=[term.pk]))
        except ValidationError as error:
            _apply_errors(rename_form, error, "label")
    elif action == "merge" and merge_form.is_valid():
        target = merge_form.cleaned_data["target"]
        try:
            moved = term_merge(source=term, target=target, actor=request.user)
        except ValidationError as error:
            _apply_errors(merge_form, error, "target")
        else:
            messages.success(
                request, f"« {term.label} » a été fusionnée dans « {target.label} » ({moved} structure(s))."
            )
            return redirect(reverse(_detail_url, args=[target.pk]))
    elif action in {"archive", "restore"}:
        if action == "archive" and term_archive(term=term, actor=request.user):
            messages.success(request, f"« {term.label} » est archivée : elle n'est plus proposée.")
        elif action == "restore" and term_restore(term=term, actor=request.user):
            messages.success(request, f"« {term.label} » est de nouveau proposée.")
        return redirect(reverse(_detail_url, args=[term.pk]))
    elif action == "delete":
        label = term.label
        try:
            term_delete(term=term, actor=request.user)
        except ValidationError as error:
            errors.extend(error.messages)
        else:
            messages.success(request, f"« {label} » a été supprimée.")
            return redirect(list_url)
    elif action is not None and action not in {"rename", "merge"}:
        errors.append("Action inconnue.")
    failed = bool(errors or rename_form.errors or merge_form.errors)
    context = {
        "title": title,
        "noun": noun,
        "list_url": list_url,
        "term": term,
        "usage": term.structures.count(),
        "rename_form": rename_form,
        "merge_form": merge_form,
        "errors": errors,
    }
    return render(request, "actors/taxonomy/detail.html", context, status=400 if failed else 200)
