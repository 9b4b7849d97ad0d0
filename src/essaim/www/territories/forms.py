"""Forms of the territories pages."""

from django import forms
from django.urls import reverse_lazy

COMMUNE_LISTBOX_ID = "commune-options"


class CommuneSearchForm(forms.Form):
    q = forms.CharField(
        label="Commune ou code postal",
        max_length=100,
        required=False,
        help_text="Par exemple : Ramonville, St Étienne ou 31520. Les accents sont facultatifs.",
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
                "data-commune-autocomplete-status": "commune-status",
                "data-commune-autocomplete-submit": "",
            }
        ),
    )
    # Filled by the combobox with the chosen commune's INSEE code.
    commune = forms.CharField(required=False, max_length=5, widget=forms.HiddenInput)
