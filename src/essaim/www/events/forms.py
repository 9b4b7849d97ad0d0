"""Forms of the agenda: filters, event proposal/edition, registration, check-in."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from essaim.actors.models import Structure, Theme
from essaim.core.text import normalize
from essaim.events.models import Attendance, Event, Kind, PaymentStatus, Programme
from essaim.territories.models import Commune
from essaim.www.events.organiser_forms import add_question_fields, question_arguments

ALL_TERRITORIES = "tous"
DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class EventFilterForm(forms.Form):
    """Filters of the public agenda. A field with an invalid value is shown in error and ignored."""

    q = forms.CharField(label="Rechercher", max_length=100, required=False)
    territoire = forms.ChoiceField(label="Territoire", required=False)
    theme = forms.ChoiceField(label="Thématique", required=False)
    type = forms.ChoiceField(label="Type", choices=[("", "Tous les types"), *Kind.choices], required=False)
    organisateur = forms.ChoiceField(label="Organisateur", required=False)
    du = forms.DateField(
        label="À partir du", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    au = forms.DateField(
        label="Jusqu'au", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, perimeters=(), themes=(), organisers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["territoire"].choices = [
            (ALL_TERRITORIES, "Tous les territoires"),
            *((perimeter.slug, perimeter.name) for perimeter in perimeters),
        ]
        self.fields["theme"].choices = [("", "Toutes les thématiques"), *((t.slug, t.label) for t in themes)]
        self.fields["organisateur"].choices = [
            ("", "Tous les organisateurs"),
            *((s.slug, s.name) for s in organisers),
        ]

    def clean(self):
        data = super().clean()
        if data.get("du") and data.get("au") and data["au"] < data["du"]:
            self.add_error("au", "La date de fin précède la date de début.")
        return data


def commune_from_code(code: str) -> Commune | None:
    """The commune of INSEE code ``code`` (None when empty). Raises ValidationError for an unknown code."""
    code = (code or "").strip().upper()
    if not code:
        return None
    commune = Commune.objects.filter(code=code).first()
    if commune is None:
        raise ValidationError("Code INSEE de commune inconnu.")
    return commune


def structure_from_name(name: str) -> Structure | None:
    """The published Annuaire structure whose name (or acronym) matches ``name`` exactly, accents and case
    aside, when there is exactly one; else None (the typed name is kept as is)."""
    key = normalize(name)
    if not key:
        return None
    matches = list(Structure.objects.published().filter(search_name__startswith=key)[:20])
    exact = [s for s in matches if normalize(s.name) == key or (s.acronym and normalize(s.acronym) == key)]
    return exact[0] if len(exact) == 1 else None


class StructureNamesField(forms.CharField):
    """Structures of the Annuaire typed by name, one per line (a select of every structure would not scale to
    a directory of thousands). Cleans to a list of Structure; an unknown or ambiguous name is an error."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Une structure par ligne, avec son nom exact dans l'annuaire.")
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        structures, unknown = [], []
        for line in (value or "").splitlines():
            if not line.strip():
                continue
            structure = structure_from_name(line)
            if structure is None:
                unknown.append(line.strip())
            elif structure not in structures:
                structures.append(structure)
        if unknown:
            raise ValidationError(
                "Structure introuvable dans l'annuaire (ou plusieurs structures portent ce nom) : "
                + ", ".join(f"« {name} »" for name in unknown)
                + "."
            )
        return structures


def _formfield(db_field, **kwargs):
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"  # Django 6's default; avoids its deprecation warning.
    return db_field.formfield(**kwargs)


class EventForm(forms.ModelForm):
    """Proposal and edition of an event. Organisers are structures of the Annuaire."""

    commune_code = forms.CharField(
        label="Code INSEE de la commune",
        max_length=5,
        required=False,
        help_text="Par exemple 82134 pour Nègrepelisse. Laisser vide pour un événement en ligne.",
    )
    organisers = StructureNamesField(label="Structures organisatrices")
    co_organisers = StructureNamesField(label="Structures co-organisatrices")
    supporters = StructureNamesField(label="Partenaires")
    funders = StructureNamesField(label="Partenaires financiers")
    themes = forms.ModelMultipleChoiceField(label="Thématiques", queryset=Theme.objects.all(), required=False)

    class Meta:
        model = Event
        fields = [
            "title",
            "kind",
            "description",
            "programme",
            "start",
            "end",
            "place_name",
            "address",
            "online_url",
            "accessibility",
            "visibility",
            "registration_open",
            "registration_opens_at",
            "registration_closes_at",
            "capacity",
        ]
        widgets = {
            "start": DATETIME_WIDGET,
            "end": DATETIME_WIDGET,
            "registration_opens_at": DATETIME_WIDGET,
            "registration_closes_at": DATETIME_WIDGET,
        }
        formfield_callback = _formfield

    def __init__(self, *args, can_moderate: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = Programme.objects.order_by("title")
        if not can_moderate:
            del self.fields["programme"]
        if self.instance.pk:
            self.fields["commune_code"].initial = (
                self.instance.commune.code if self.instance.commune_id else ""
            )
            links = list(self.instance.structure_links.select_related("structure"))
            for name, role in (
                ("organisers", "organiser"),
                ("co_organisers", "co_organiser"),
                ("supporters", "supporter"),
                ("funders", "funder"),
            ):
                self.fields[name].initial = "\n".join(
                    link.structure.name for link in links if link.role == role
                )
            self.fields["themes"].initial = list(self.instance.themes.values_list("pk", flat=True))

    def clean_commune_code(self):
        return commune_from_code(self.cleaned_data.get("commune_code", ""))

    def service_arguments(self) -> dict:
        """The cleaned data as keyword arguments of ``event_create`` / ``event_update``."""
        data = dict(self.cleaned_data)
        data["commune"] = data.pop("commune_code")
        return data


class RegistrationForm(forms.Form):
    full_name = forms.CharField(label="Nom et prénom", max_length=150)
    email = forms.EmailField(label="Adresse électronique", required=True)
    category = forms.ModelChoiceField(label="Vous venez en tant que", queryset=None, required=False)
    structure_name = forms.CharField(
        label="Structure",
        max_length=200,
        required=False,
        help_text="Association, entreprise, collectivité… Laisser vide si vous venez à titre personnel.",
    )
    commune_code = forms.CharField(
        label="Code INSEE de votre commune",
        max_length=5,
        required=False,
        help_text="Facultatif : il sert au bilan de l'événement (communes représentées).",
    )
    is_elected = forms.BooleanField(label="Je suis élu ou élue", required=False)
    consent = forms.BooleanField(
        label=(
            "J'accepte que mes nom, structure et courriel soient transmis aux organisateurs pour gérer "
            "mon inscription et la feuille d'émargement."
        ),
        required=True,
    )

    def __init__(self, *args, event: Event, by_facilitator: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        categories = event.categories.all()
        self.fields["category"].queryset = categories
        self.fields["category"].required = categories.exists()
        if not categories.exists():
            del self.fields["category"]
        else:
            self.fields["category"].label_from_instance = lambda c: f"{c.label} ({c.price_display})"
        self.slots = []
        sessions = list(event.sessions.all())
        for start in sorted({s.start for s in sessions}):
            in_slot = [s for s in sessions if s.start == start]
            name = f"session_{len(self.slots)}"
            label = "Session" if len(in_slot) == 1 else "Choisissez un atelier ou une visite"
            self.fields[name] = forms.ModelChoiceField(
                label=f"{label} ({timezone.localtime(start):%H:%M})",
                queryset=event.sessions.filter(pk__in=[s.pk for s in in_slot]),
                required=False,
                widget=forms.RadioSelect,
                empty_label=None,
            )
            self.slots.append(name)
        if by_facilitator:
            self.fields["email"].required = False
            del self.fields["consent"]
        add_question_fields(self, event, by_facilitator=by_facilitator)

    def clean_commune_code(self):
        return commune_from_code(self.cleaned_data.get("commune_code", ""))

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        structure_name = data.get("structure_name", "").strip()
        structure = structure_from_name(structure_name)
        return {
            "full_name": data["full_name"],
            "email": data.get("email") or "",
            "category": data.get("category"),
            "sessions": [data[name] for name in self.slots if data.get(name)],
            "structure": structure,
            "structure_name": "" if structure else structure_name,
            "commune": data.get("commune_code"),
            "is_elected": data.get("is_elected", False),
            **question_arguments(self),
        }


class CheckInSearchForm(forms.Form):
    q = forms.CharField(label="Rechercher une personne inscrite", max_length=100, required=False)


class AttendanceForm(forms.Form):
    attendance = forms.ChoiceField(choices=Attendance.choices)


class PaymentForm(forms.Form):
    payment = forms.ChoiceField(label="Paiement", choices=PaymentStatus.choices)


class WalkInForm(forms.Form):
    full_name = forms.CharField(label="Nom et prénom", max_length=150)
    structure_name = forms.CharField(label="Structure", max_length=200, required=False)
    category = forms.ModelChoiceField(label="Catégorie", queryset=None, required=False)
    is_elected = forms.BooleanField(label="Élu ou élue", required=False)

    def __init__(self, *args, event: Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = event.categories.all()
        if not event.categories.exists():
            del self.fields["category"]


class NarrativeForm(forms.Form):
    narrative = forms.CharField(
        label="Bilan rédigé par l'équipe d'animation",
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
    )
