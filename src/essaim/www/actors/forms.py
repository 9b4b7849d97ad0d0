from django import forms

from essaim.actors.models import Family

ALL_TERRITORIES = "tous"


class StructureFilterForm(forms.Form):
    """Filters of the public directory. A field with an invalid value is shown in error and ignored."""

    q = forms.CharField(label="Nom de la structure", max_length=100, required=False)
    famille = forms.ChoiceField(
        label="Famille", choices=[("", "Toutes les familles"), *Family.choices], required=False
    )
    territoire = forms.ChoiceField(label="Territoire", required=False)

    def __init__(self, *args, perimeters=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["territoire"].choices = [
            (ALL_TERRITORIES, "Tous les territoires"),
            *((perimeter.slug, perimeter.name) for perimeter in perimeters),
        ]
