"""Forms of group purchases (order sheet, participation) and shared jobs (job and share of a post)."""

from decimal import Decimal

from django import forms

from essaim.exchange.group_purchases import MAX_PRODUCTS, ProductInput

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class GroupPurchaseForm(forms.Form):
    deadline = forms.DateTimeField(
        label="Date limite de participation",
        widget=DATETIME_WIDGET,
        help_text="Après cette date, les participations ne peuvent plus changer et la commande est close.",
        input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
    )


class ProductForm(forms.Form):
    """One product row; an existing product whose label is emptied is removed."""

    pk = forms.IntegerField(widget=forms.HiddenInput, required=False)
    label = forms.CharField(label="Produit", max_length=200, required=False)
    unit = forms.CharField(
        label="Unité", max_length=50, required=False, help_text="Par exemple : panier, kg."
    )
    unit_price = forms.DecimalField(
        label="Prix unitaire (en euros)",
        min_value=Decimal("0"),
        max_digits=9,
        decimal_places=2,
        required=False,
        localize=True,
    )

    def clean(self):
        data = super().clean()
        if data.get("label") and not data.get("unit"):
            self.add_error("unit", "Indiquez l'unité de ce produit.")
        if not data.get("label") and (data.get("unit") or data.get("unit_price") is not None):
            self.add_error("label", "Indiquez le nom du produit.")
        return data

    def product(self) -> ProductInput | None:
        data = self.cleaned_data
        if not data.get("label"):
            return None
        price = data.get("unit_price")
        return ProductInput(
            label=data["label"],
            unit=data["unit"],
            unit_price_cents=int(price * 100) if price is not None else None,
            pk=data.get("pk"),
        )


ProductFormSet = forms.formset_factory(ProductForm, extra=3, max_num=MAX_PRODUCTS, validate_max=True)


class ParticipationForm(forms.Form):
    """One quantity per product of the purchase (empty: none of it)."""

    def __init__(self, *args, products=(), initial_quantities=None, **kwargs):
        super().__init__(*args, **kwargs)
        initial_quantities = initial_quantities or {}
        for product in products:
            price = f", {product.unit_price_euros} l'unité" if product.unit_price_cents is not None else ""
            self.fields[f"product_{product.pk}"] = forms.DecimalField(
                label=f"{product.label} (en {product.unit}{price})",
                min_value=Decimal("0"),
                max_digits=10,
                decimal_places=2,
                required=False,
                localize=True,
                initial=initial_quantities.get(product.pk),
            )

    def quantities(self) -> dict[int, Decimal | None]:
        return {
            int(name.removeprefix("product_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("product_")
        }


class SharedJobForm(forms.Form):
    job_title = forms.CharField(
        label="Métier", max_length=120, help_text="Par exemple : comptable, chargé·e de communication."
    )
    fte = forms.DecimalField(
        label="Temps de travail (en équivalent temps plein)",
        min_value=Decimal("0.01"),
        max_value=Decimal("1"),
        max_digits=3,
        decimal_places=2,
        localize=True,
        help_text="1 = temps plein ; 0,3 = environ une journée et demie par semaine.",
    )
