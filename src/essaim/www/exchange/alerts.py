"""Alerts (saved searches of offers and needs): creation from the list's filters, the person's alerts page,
the one-click unsubscribe link and the RSS feed of an alert."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Rss201rev2Feed
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from essaim.actors.models import Theme
from essaim.core.access import get_object_or_404_for
from essaim.exchange import alerts as service
from essaim.exchange.models import Alert, AlertFrequency, Direction, Kind
from essaim.territories.models import Commune


def alert_can_manage(user, alert: Alert | None) -> bool:
    """An alert is its owner's only."""
    return alert is not None and getattr(user, "is_authenticated", False) and alert.user_id == user.pk


class AlertForm(forms.Form):
    """The criteria of a new alert. Field names follow the list's filters, so that its query string fills
    the form in."""

    sens = forms.ChoiceField(
        label="Offres ou besoins", choices=[("", "Offres et besoins"), *Direction.choices], required=False
    )
    type = forms.ChoiceField(label="Type", choices=[("", "Tous les types"), *Kind.choices], required=False)
    themes = forms.MultipleChoiceField(
        label="Thématiques", required=False, widget=forms.CheckboxSelectMultiple
    )
    q = forms.CharField(
        label="Mots recherchés",
        max_length=100,
        required=False,
        help_text="Les annonces dont le titre contient tous ces mots.",
    )
    commune = forms.CharField(
        label="Autour de la commune",
        max_length=100,
        required=False,
        help_text="Nom ou code INSEE ; laissez vide pour tout le territoire.",
    )
    structure = forms.ChoiceField(label="Ou autour de ma structure", required=False)
    rayon = forms.IntegerField(label="Dans un rayon de (km)", min_value=1, max_value=1000, initial=30)
    frequence = forms.ChoiceField(
        label="Recevoir les nouvelles annonces",
        choices=AlertFrequency.choices,
        initial=AlertFrequency.WEEKLY,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, structures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.structures = {str(structure.pk): structure for structure in structures}
        self.fields["themes"].choices = [(t.slug, t.label) for t in Theme.objects.active()]
        self.fields["structure"].choices = [
            ("", "Aucune"),
            *((pk, structure.name) for pk, structure in self.structures.items()),
        ]
        if not self.structures:
            del self.fields["structure"]

    def clean_commune(self):
        text = self.cleaned_data["commune"].strip()
        commune = Commune.objects.with_point().best_match(text)
        if text and commune is None:
            raise forms.ValidationError("Aucune commune ne correspond à « %(text)s ».", params={"text": text})
        return commune

    def clean_structure(self):
        value = self.cleaned_data.get("structure") or ""
        return self.structures.get(value)

    def clean(self):
        data = super().clean()
        if data.get("commune") and data.get("structure"):
            self.add_error("structure", "Choisissez une commune ou une structure, pas les deux.")
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "direction": data.get("sens") or "",
            "kind": data.get("type") or "",
            "themes": list(Theme.objects.filter(slug__in=data.get("themes") or [])),
            "text": data.get("q") or "",
            "commune": data.get("commune"),
            "structure": data.get("structure"),
            "radius_km": data["rayon"],
            "frequency": data["frequence"],
        }


def _initial_from_list(request) -> dict:
    """The list's filters (sens, type, theme, q) as the form's initial values."""
    initial = {"rayon": 30, "frequence": AlertFrequency.WEEKLY}
    if request.GET.get("sens") in Direction.values:
        initial["sens"] = request.GET["sens"]
    if request.GET.get("type") in Kind.values:
        initial["type"] = request.GET["type"]
    themes = [slug for slug in request.GET.getlist("theme") if slug]
    if themes:
        initial["themes"] = themes
    if request.GET.get("q"):
        initial["q"] = request.GET["q"][:100]
    return initial


def _add_errors(form, exc: ValidationError) -> None:
    names = {"direction": "sens", "kind": "type", "text": "q", "radius_km": "rayon", "frequency": "frequence"}
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            target = names.get(name, name)
            form.add_error(target if target in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
def alert_create(request):
    """Save a search; the list's "Créer une alerte" link fills the form in with its current filters."""
    structures = service.structures_of(request.user)
    if request.method == "POST":
        form = AlertForm(request.POST, structures=structures)
    else:
        form = AlertForm(initial=_initial_from_list(request), structures=structures)
    if request.method == "POST" and form.is_valid():
        try:
            service.alert_create(user=request.user, **form.service_arguments())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request, "Alerte enregistrée : vous recevrez les nouvelles annonces par courriel."
            )
            return redirect("exchange:alerts")
    return render(request, "exchange/alert_form.html", {"form": form})


@login_required
def alert_list(request):
    """The person's alerts, each with its criteria, feed address and email switch."""
    alerts = list(
        Alert.objects.of_user(request.user)
        .select_related("commune", "structure__commune")
        .prefetch_related("themes")
    )
    rows = [
        {
            "alert": alert,
            "summary": service.describe(alert),
            "feed_url": request.build_absolute_uri(service.feed_url(alert)),
        }
        for alert in alerts
    ]
    return render(request, "exchange/alert_list.html", {"rows": rows})


@require_POST
@login_required
def alert_email(request, pk: int):
    """Stop or resume the emails of one's alert."""
    alert = get_object_or_404_for(request.user, Alert, alert_can_manage, pk=pk)
    enabled = request.POST.get("envoi") == "oui"
    service.alert_set_email(alert=alert, actor=request.user, enabled=enabled)
    stopped = "Envoi par courriel arrêté (le flux RSS reste actif)."
    messages.success(request, "Envoi par courriel repris." if enabled else stopped)
    return redirect("exchange:alerts")


@require_POST
@login_required
def alert_delete(request, pk: int):
    alert = get_object_or_404_for(request.user, Alert, alert_can_manage, pk=pk)
    service.alert_delete(alert=alert, actor=request.user)
    messages.success(request, "Alerte supprimée.")
    return redirect("exchange:alerts")


def _no_index(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# Mail clients send the RFC 8058 one-click unsubscribe as a bare POST without a CSRF token; the signed token
# in the URL is what authorises it, and stopping an alert harms nobody.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def alert_unsubscribe(request, token: str):
    """GET: a button to stop the alert's emails (mail scanners prefetch links); POST: they stop."""
    try:
        alert = service.alert_for_unsubscribe_token(token)
    except service.AlertLinkError as error:
        context = {"error": str(error)}
        return _no_index(render(request, "exchange/alert_unsubscribe.html", context, status=400))
    done = False
    if request.method == "POST":
        service.alert_unsubscribe(alert=alert)
        done = True
    context = {"alert": alert, "summary": service.describe(alert), "done": done, "error": ""}
    return _no_index(render(request, "exchange/alert_unsubscribe.html", context))


class AlertFeed(Feed):
    """RSS 2.0 feed of the newest listings matching an alert, at an address carrying a signed token."""

    feed_type = Rss201rev2Feed
    description_template = "exchange/alert_feed_item.html"

    def get_object(self, request, token: str):
        try:
            return service.alert_for_feed_token(token)
        except service.AlertLinkError:
            raise Http404("Flux introuvable.") from None

    def title(self, alert):
        return f"Offres & besoins — {service.describe(alert)}"

    def link(self, alert):
        return reverse("exchange:list")

    def description(self, alert):
        return f"Les nouvelles annonces des {service.FEED_DAYS} derniers jours correspondant à votre alerte."

    def items(self, alert):
        return service.alert_listings(alert=alert)

    def item_title(self, listing):
        return f"{listing.get_direction_display()} — {listing.title}"

    def item_link(self, listing):
        return reverse("exchange:detail", args=[listing.pk])

    def item_pubdate(self, listing):
        return listing.published_at

    def item_author_name(self, listing):
        return listing.structure.name

    def __call__(self, request, *args, **kwargs):
        return _no_index(super().__call__(request, *args, **kwargs))


alert_feed = AlertFeed()
