import datetime

from django import forms
from django.core.validators import MaxValueValidator
from django.db.models import Q
from django.utils import timezone

from essaim.events.models import Event, EventStatus
from essaim.workshops.models import CommentCategory
from essaim.workshops.services import MAX_ROOM_CODES

LIMIT_HELP = "Laissez vide pour ne pas limiter."
# Events offered for a consultation: those of the last year and to come.
EVENT_CHOICE_DAYS = 365


class ConsultationForm(forms.Form):
    title = forms.CharField(label="Titre", max_length=200)
    slug = forms.SlugField(
        label="Adresse de la page",
        max_length=80,
        help_text="Lettres minuscules, chiffres et tirets, par exemple « bouillon-2026 ».",
    )
    description = forms.CharField(
        label="Présentation", widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    held_on = forms.DateField(
        label="Date de la rencontre", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    event = forms.ModelChoiceField(
        label="Événement de l'agenda",
        queryset=Event.objects.none(),
        required=False,
        empty_label="Aucun",
        help_text="La rencontre où se tient l'atelier, si elle est dans l'agenda.",
    )
    green_limit = forms.IntegerField(
        label="Gommettes vertes par participant·e",
        min_value=0,
        max_value=999,
        required=False,
        help_text=LIMIT_HELP,
    )
    red_limit = forms.IntegerField(
        label="Gommettes rouges par participant·e",
        min_value=0,
        max_value=999,
        required=False,
        help_text=LIMIT_HELP,
    )
    total_limit = forms.IntegerField(
        label="Gommettes au total par participant·e",
        min_value=0,
        max_value=999,
        required=False,
        help_text=LIMIT_HELP + " Chaque participant·e met au plus une gommette de chaque couleur par besoin.",
    )
    premoderate_comments = forms.BooleanField(
        label="Relire les commentaires avant de les afficher", required=False
    )

    def __init__(self, *args, editing=False, current_event=None, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["slug"]
        # Recent and coming events, plus the one already linked (however old), so that saving keeps it.
        since = timezone.now() - datetime.timedelta(days=EVENT_CHOICE_DAYS)
        recent = Q(start__gte=since) & ~Q(status__in=[EventStatus.CANCELLED, EventStatus.ARCHIVED])
        if current_event is not None:
            recent |= Q(pk=current_event.pk)
        self.fields["event"].queryset = Event.objects.filter(recent).order_by("start")


class ItemForm(forms.Form):
    title = forms.CharField(label="Intitulé du besoin", max_length=255)
    description = forms.CharField(
        label="Précisions", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    order = forms.IntegerField(label="Ordre", min_value=0, max_value=10_000, required=False)


class ProposeItemForm(forms.Form):
    title = forms.CharField(label="Le besoin que vous proposez", max_length=255)
    description = forms.CharField(
        label="Précisions (facultatif)", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class RoomCodeForm(forms.Form):
    code = forms.CharField(
        label="Code de salle",
        max_length=12,
        help_text="Le code à 6 caractères remis dans la salle.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )


class CommentForm(forms.Form):
    text = forms.CharField(label="Votre post-it", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    category = forms.ChoiceField(
        label="Type", choices=CommentCategory.choices, initial=CommentCategory.REMARK
    )


class RoomCodesForm(forms.Form):
    count = forms.IntegerField(
        label="Nombre de codes à créer",
        min_value=1,
        max_value=MAX_ROOM_CODES,
        validators=[MaxValueValidator(MAX_ROOM_CODES)],
    )


class PaperTallyForm(forms.Form):
    """One pair of counts (green, red) per item, named ``green_<pk>`` / ``red_<pk>``."""

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            tally = getattr(item, "paper_tally", None) if hasattr(item, "paper_tally") else None
            self.fields[f"green_{item.pk}"] = forms.IntegerField(
                label=f"Vertes — {item.title}",
                min_value=0,
                max_value=100_000,
                initial=tally.green if tally else 0,
            )
            self.fields[f"red_{item.pk}"] = forms.IntegerField(
                label=f"Rouges — {item.title}",
                min_value=0,
                max_value=100_000,
                initial=tally.red if tally else 0,
            )

    def rows(self):
        return [(item, self[f"green_{item.pk}"], self[f"red_{item.pk}"]) for item in self.items]


class ModerateItemForm(forms.Form):
    ACTIONS = (
        ("accept", "Retenir comme nouveau besoin"),
        ("attach", "Rattacher au besoin choisi"),
        ("merge", "Fusionner dans le besoin choisi"),
        ("reject", "Écarter"),
    )
    action = forms.ChoiceField(label="Décision", choices=ACTIONS)
    target = forms.TypedChoiceField(label="Besoin choisi", coerce=int, required=False, empty_value=None)

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "—"), *((t.pk, t.title) for t in targets)]

    def clean(self):
        data = super().clean()
        if data.get("action") in {"attach", "merge"} and not data.get("target"):
            self.add_error("target", "Choisissez le besoin auquel rattacher ou dans lequel fusionner.")
        return data


class GroupForm(forms.Form):
    number = forms.IntegerField(label="Numéro", min_value=1, max_value=999)
    name = forms.CharField(label="Nom (facultatif)", max_length=120, required=False)
    members = forms.TypedMultipleChoiceField(
        label="Membres", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    rapporteur = forms.TypedChoiceField(label="Rapporteur·e", coerce=int, required=False, empty_value=None)

    def __init__(self, *args, participants=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(p.pk, participant_label(p)) for p in participants]
        self.fields["members"].choices = choices
        self.fields["rapporteur"].choices = [("", "—"), *choices]


class ProposalForm(forms.Form):
    text = forms.CharField(
        label="Proposition d'action",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Une ligne par sous-point si besoin.",
    )
    items = forms.TypedMultipleChoiceField(
        label="Besoins concernés", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    tags = forms.CharField(
        label="Thèmes",
        max_length=300,
        required=False,
        help_text="Séparés par des virgules, par exemple « mutualisation, sensibilisation ».",
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(i.pk, i.title) for i in items]

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


def participant_label(participant) -> str:
    if participant.user_id:
        return str(participant.user)
    return f"Code {participant.room_code}"
