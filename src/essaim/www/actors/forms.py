from django import forms

from essaim.actors.models import Family, HeadcountBand
from essaim.actors.search import Sort

ALL_TERRITORIES = "tous"

# Headcount filter: groups of INSEE bands, as people think of sizes.
HEADCOUNT_GROUPS = {
    "0": ("Sans salarié", (HeadcountBand.NON_EMPLOYER, HeadcountBand.ZERO)),
    "1-9": ("1 à 9 salariés", (HeadcountBand.FROM_1, HeadcountBand.FROM_3, HeadcountBand.FROM_6)),
    "10-49": ("10 à 49 salariés", (HeadcountBand.FROM_10, HeadcountBand.FROM_20)),
    "50-249": ("50 à 249 salariés", (HeadcountBand.FROM_50, HeadcountBand.FROM_100, HeadcountBand.FROM_200)),
    "250+": (
        "250 salariés et plus",
        (
            HeadcountBand.FROM_250,
            HeadcountBand.FROM_500,
            HeadcountBand.FROM_1000,
            HeadcountBand.FROM_2000,
            HeadcountBand.FROM_5000,
            HeadcountBand.FROM_10000,
        ),
    ),
}
RADIUS_CHOICES = [("5", "5 km"), ("10", "10 km"), ("20", "20 km"), ("50", "50 km"), ("100", "100 km")]
DEFAULT_RADIUS = "10"


class StructureFilterForm(forms.Form):
    """Filters of the public directory. A field with an invalid value is shown in error and ignored.

    Families, themes, labels and départements are rendered by the template as facets (checkboxes with
    counts); the form validates them.
    """

    q = forms.CharField(
        label="Rechercher",
        max_length=100,
        required=False,
        help_text="Nom, sigle, activité, thématique ou commune.",
    )
    famille = forms.MultipleChoiceField(label="Famille", choices=Family.choices, required=False)
    thematique = forms.MultipleChoiceField(label="Thématique", required=False)
    reseau = forms.MultipleChoiceField(label="Réseau ou label", required=False)
    departement = forms.MultipleChoiceField(label="Département", required=False)
    territoire = forms.ChoiceField(label="Territoire", required=False)
    commune = forms.CharField(
        label="Autour de la commune",
        max_length=100,
        required=False,
        help_text="Nom ou code postal.",
    )
    rayon = forms.ChoiceField(label="Dans un rayon de", choices=RADIUS_CHOICES, required=False)
    effectif = forms.ChoiceField(
        label="Effectif",
        choices=[
            ("", "Tous les effectifs"),
            *((key, label) for key, (label, _bands) in HEADCOUNT_GROUPS.items()),
        ],
        required=False,
    )
    tri = forms.ChoiceField(label="Trier par", choices=[("", "Par défaut"), *Sort.choices], required=False)

    def __init__(self, *args, perimeters=(), themes=(), labels=(), departements=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Changing a list refreshes the results at once (see the form's hx-trigger).
        for name in ("territoire", "rayon", "effectif", "tri"):
            self.fields[name].widget.attrs["data-autosubmit"] = ""
        self.fields["territoire"].choices = [
            (ALL_TERRITORIES, "Tous les territoires"),
            *((perimeter.slug, perimeter.name) for perimeter in perimeters),
        ]
        self.fields["thematique"].choices = list(themes)
        self.fields["reseau"].choices = list(labels)
        self.fields["departement"].choices = list(departements)

    def clean_commune(self):
        """The commune best matching the text (name or postal code), or None; error when none matches."""
        from essaim.territories.models import Commune

        text = self.cleaned_data["commune"].strip()
        commune = Commune.objects.with_point().best_match(text)
        if text and commune is None:
            raise forms.ValidationError("Aucune commune ne correspond à « %(text)s ».", params={"text": text})
        return commune
