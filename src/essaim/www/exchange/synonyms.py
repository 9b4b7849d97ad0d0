"""Facilitator pages for the synonym groups of offers and needs: list, add, edit, delete."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from essaim.accounts.rules import is_facilitator
from essaim.core.access import deny_unless
from essaim.exchange.models import SynonymGroup
from essaim.exchange.synonyms import synonym_group_delete, synonym_group_save


class SynonymGroupForm(forms.Form):
    words = forms.CharField(
        label="Mots équivalents",
        max_length=500,
        help_text="Séparés par des virgules, par exemple : local, salle, bureau, espace.",
    )


def _can_edit(user) -> bool:
    return bool(is_facilitator.test(user))


def _save(request, form, group=None):
    try:
        return synonym_group_save(words=form.cleaned_data["words"], group=group, actor=request.user)
    except ValidationError as error:
        for message in error.message_dict.get("words", error.messages):
            form.add_error("words", message)
        return None


@require_http_methods(["GET", "POST"])
def synonym_list(request):
    """Every synonym group; POST adds one. Facilitators only (404 for others)."""
    deny_unless(_can_edit(request.user))
    form = SynonymGroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        group = _save(request, form)
        if group is not None:
            messages.success(request, f"Groupe « {group.words} » ajouté.")
            return redirect("exchange:synonyms")
    groups = SynonymGroup.objects.order_by("words", "pk")
    return render(request, "exchange/synonym_list.html", {"form": form, "groups": groups})


@require_http_methods(["GET", "POST"])
def synonym_edit(request, pk: int):
    deny_unless(_can_edit(request.user))
    group = get_object_or_404(SynonymGroup, pk=pk)
    form = SynonymGroupForm(request.POST or None, initial={"words": group.words})
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, group)
        if saved is not None:
            messages.success(request, f"Groupe « {saved.words} » enregistré.")
            return redirect("exchange:synonyms")
    return render(request, "exchange/synonym_form.html", {"form": form, "group": group})


@require_POST
def synonym_delete(request, pk: int):
    deny_unless(_can_edit(request.user))
    group = get_object_or_404(SynonymGroup, pk=pk)
    words = group.words
    synonym_group_delete(group=group, actor=request.user)
    messages.success(request, f"Groupe « {words} » supprimé.")
    return redirect("exchange:synonyms")
