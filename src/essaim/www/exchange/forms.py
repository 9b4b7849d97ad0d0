"""Forms of offers and needs: public filters and the listing form."""

from decimal import Decimal

from django import forms

from essaim.actors.models import Theme
from essaim.exchange.models import Direction, Kind, Listing, Terms

ALL_TERRITORIES = "tous"
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ListingFilterForm(forms.Form):
    """Filters of the public list. A field with an invalid value is shown in error and ignored."""

    q = forms.CharField(label="Rechercher", max_length=100, required=False)
    sens = forms.ChoiceField(
        label="Offres ou besoins",
        choices=[("", "Offres et besoins"), *Direction.choices],
        required=False,
    )
    type = forms.ChoiceField(label="Type", choices=[("", "Tous les types"), *Kind.choices], required=False)
    theme = forms.ChoiceField(label="Thématique", required=False)
    territoire = forms.ChoiceField(label="Territoire", required=False)

    def __init__(self, *args, perimeters=(), themes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["territoire"].choices = [
            (ALL_TERRITORIES, "Tous les territoires"),
            *((perimeter.slug, perimeter.name) for perimeter in perimeters),
        ]
        self.fields["theme"].choices = [("", "Toutes les thématiques"), *((t.slug, t.label) for t in themes)]


class ListingForm(forms.ModelForm):
    """Creation and edition of an offer or a need; the price is typed in euros and stored in cents."""

    themes = forms.ModelMultipleChoiceField(
        label="Thématiques", queryset=Theme.objects.none(), required=False
    )
    price = forms.DecimalField(
        label="Prix (en euros)",
        min_value=Decimal("0"),
        max_digits=9,
        decimal_places=2,
        required=False,
        localize=True,  # "35,50" as French people type it.
        help_text="Seulement pour une annonce payante.",
    )

    class Meta:
        model = Listing
        fields = [
            "direction",
            "kind",
            "title",
            "description",
            "quantity",
            "unit",
            "available_from",
            "available_until",
            "terms",
            "radius_km",
        ]
        widgets = {"available_from": DATE_WIDGET, "available_until": DATE_WIDGET}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["themes"].queryset = Theme.objects.active()
        if self.instance.pk:
            self.fields["themes"].initial = list(self.instance.themes.all())
            if self.instance.price_cents is not None:
                self.fields["price"].initial = Decimal(self.instance.price_cents) / 100

    def clean(self):
        data = super().clean()
        if data.get("price") is not None and data.get("terms") != Terms.PAID:
            self.add_error("price", "Un prix n'est possible que pour une annonce payante.")
        if data.get("terms") == Terms.PAID and data.get("price") is None:
            self.add_error("price", "Indiquez le prix d'une annonce payante.")
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {name: data[name] for name in self.Meta.fields}
        price = data.get("price")
        arguments["price_cents"] = int(price * 100) if price is not None else None
        arguments["themes"] = list(data.get("themes") or ())
        return arguments
