"""Forms of the card management pages: edit, create, claim, moderation decisions."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse_lazy

from essaim.actors.models import Label, Structure, Theme
from essaim.core.text import normalize
from essaim.territories.models import Commune

# What a structure's members edit on their card.
MEMBER_FIELDS = (
    "name",
    "acronym",
    "description",
    "address",
    "commune",
    "phone",
    "email",
    "website",
    "themes",
    "labels",
    "opening_hours",
    "headcount_band",
    "creation_date",
)
# What only facilitators change: identity and qualification.
FACILITATOR_FIELDS = ("family", "cooperative_kind", "siren", "rna", "is_societe_mission")
COMMUNE_LISTBOX_ID = "card-commune-options"
_LABEL_WITH_DEPARTEMENT = re.compile(r"^(?P<name>.+?)\s*\((?P<dep>[0-9AB]{2,3})\)$")


def _formfield(db_field, **kwargs):
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"  # Django 6's default; avoids its deprecation warning.
    return db_field.formfield(**kwargs)


def _model_fields(names) -> dict:
    fields = forms.fields_for_model(
        Structure,
        fields=[name for name in names if name != "commune"],
        formfield_callback=_formfield,
        widgets={
            "description": forms.Textarea(attrs={"rows": 6}),
            "opening_hours": forms.Textarea(attrs={"rows": 3}),
            "creation_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "themes": forms.CheckboxSelectMultiple,
            "labels": forms.CheckboxSelectMultiple,
        },
    )
    if "themes" in fields:
        fields["themes"].queryset = Theme.objects.all()
    if "labels" in fields:
        fields["labels"].queryset = Label.objects.all()
    return fields


class StructureCardForm(forms.Form):
    """The card's editable fields (members' set, plus identity fields for facilitators).

    The commune is chosen with the commune combobox (``commune_query`` typed, ``commune`` = INSEE code
    filled by the script); without JavaScript, a typed "Name (dep)", exact name or INSEE code is accepted.
    ``changes()`` gives the values as ``structure_update`` takes them.
    """

    commune_query = forms.CharField(
        label="Commune",
        required=False,
        max_length=120,
        help_text="Tapez le nom ou le code postal, puis choisissez dans la liste.",
        widget=forms.TextInput(
            attrs={
                "role": "combobox",
                "aria-autocomplete": "list",
                "aria-expanded": "false",
                "aria-controls": COMMUNE_LISTBOX_ID,
                "autocomplete": "off",
                "spellcheck": "false",
                "data-commune-autocomplete": "",
                "data-commune-autocomplete-url": reverse_lazy("territories:commune_autocomplete"),
                "data-commune-autocomplete-target": "id_commune",
                "data-commune-autocomplete-status": "card-commune-status",
            }
        ),
    )
    commune = forms.CharField(required=False, max_length=5, widget=forms.HiddenInput)

    def __init__(self, *args, facilitator: bool, structure: Structure | None = None, **kwargs):
        names = (*MEMBER_FIELDS, *(FACILITATOR_FIELDS if facilitator else ()))
        initial = kwargs.pop("initial", None) or {}
        if structure is not None:
            initial = {**self.initial_from(structure, names), **initial}
        super().__init__(*args, initial=initial, **kwargs)
        ordered = {}
        model_fields = _model_fields(names)
        for name in names:
            if name == "commune":
                ordered["commune_query"] = self.fields["commune_query"]
                ordered["commune"] = self.fields["commune"]
            else:
                ordered[name] = model_fields[name]
        # Fields declared by subclasses come after the card's.
        ordered.update({name: field for name, field in self.fields.items() if name not in ordered})
        self.fields = ordered
        self.field_names = list(names)

    @staticmethod
    def initial_from(structure: Structure, names) -> dict:
        initial = {}
        for name in names:
            if name == "commune":
                commune = structure.commune
                initial["commune"] = commune.code if commune else ""
                initial["commune_query"] = f"{commune.name} ({commune.departement_id})" if commune else ""
            elif name in ("themes", "labels"):
                initial[name] = list(getattr(structure, name).values_list("pk", flat=True))
            else:
                initial[name] = getattr(structure, name)
        return initial

    def clean(self):
        data = super().clean()
        code = (data.get("commune") or "").strip()
        query = (data.get("commune_query") or "").strip()
        commune = None
        if code:
            commune = Commune.objects.filter(code=code).first()
        elif query:
            commune = self._commune_from_text(query)
        if (code or query) and commune is None:
            self.add_error(
                "commune_query",
                "Commune introuvable : choisissez-la dans la liste proposée, ou saisissez son code INSEE.",
            )
        data["commune"] = commune
        return data

    @staticmethod
    def _commune_from_text(query: str) -> Commune | None:
        if re.fullmatch(r"[0-9][0-9AB][0-9]{3}", query.upper()):
            return Commune.objects.filter(code=query.upper()).first()
        match = _LABEL_WITH_DEPARTEMENT.match(query)
        candidates = Commune.objects.filter(search_name=normalize(match["name"] if match else query))
        if match:
            candidates = candidates.filter(departement_id=match["dep"])
        found = list(candidates[:2])
        return found[0] if len(found) == 1 else None

    def changes(self) -> dict:
        """The cleaned values keyed by card field, ready for ``structure_update`` / ``structure_create``."""
        data = self.cleaned_data
        result = {}
        for name in self.field_names:
            value = data.get(name)
            if name in ("themes", "labels"):
                value = list(value or [])
            elif value is None and name not in ("commune", "creation_date"):
                value = ""
            result[name] = value
        return result

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the matching fields (the rest at the top of the form)."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                target = "commune_query" if field == "commune" else field
                self.add_error(target if target in self.fields else None, errors)
        else:
            self.add_error(None, error)


class StructureCreateForm(StructureCardForm):
    """A new card. ``confirm_duplicates`` is the explicit "créer quand même" once similar cards were shown."""

    confirm_duplicates = forms.BooleanField(
        label="Je confirme qu'il s'agit d'une autre structure : créer quand même",
        required=False,
    )

    def __init__(self, *args, **kwargs):
        # Whoever creates a card gives its identity (family, SIREN...): it helps find an existing card.
        super().__init__(*args, facilitator=True, **kwargs)


class ClaimForm(forms.Form):
    message = forms.CharField(
        label="Votre rôle dans la structure (facultatif)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Par exemple : salariée chargée de communication, membre du bureau...",
    )


class RevisionDecisionForm(forms.Form):
    """Approve all fields of a proposal, only the ticked ones, or reject it with a reason."""

    APPROVE_ALL, APPROVE_SELECTED, REJECT = "approve_all", "approve_selected", "reject"

    decision = forms.ChoiceField(
        choices=[
            (APPROVE_ALL, "Tout accepter"),
            (APPROVE_SELECTED, "Accepter les champs cochés"),
            (REJECT, "Refuser"),
        ],
        widget=forms.HiddenInput,
    )
    accepted = forms.MultipleChoiceField(
        label="Champs à accepter", required=False, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.CharField(
        label="Motif du refus",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Obligatoire pour refuser ; il est envoyé par courriel à la personne.",
    )

    def __init__(self, *args, field_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accepted"].choices = field_choices

    def clean(self):
        data = super().clean()
        decision = data.get("decision")
        if decision == self.REJECT and not (data.get("reason") or "").strip():
            self.add_error("reason", "Indiquez le motif du refus : il sera envoyé à la personne.")
        if decision == self.APPROVE_SELECTED and not data.get("accepted"):
            self.add_error("accepted", "Cochez au moins un champ à accepter.")
        return data
