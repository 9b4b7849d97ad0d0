"""Abuse handling of offers and needs: the « Signaler » form, the facilitators' moderation page, hiding and
showing a listing, closing reports."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from essaim.core.access import deny_unless, get_object_or_404_for
from essaim.exchange import moderation as service
from essaim.exchange.access import listing_can_view
from essaim.exchange.models import Listing, ListingReport, ReportReason, ReportStatus

# Reports accepted per person: enough for honest use, not for flooding the facilitators.
REPORT_RATE = "10/h"
RECENT_RESOLVED = 30


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label="Motif", choices=ReportReason.choices, widget=forms.RadioSelect)
    text = forms.CharField(
        label="Précisions",
        max_length=service.REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Facultatif, sauf pour « Autre raison ». Les animateur·rices du réseau liront ce message.",
    )


class HideForm(forms.Form):
    reason = forms.CharField(
        label="Motif du masquage",
        max_length=service.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Il sera montré aux membres de la structure qui a publié l'annonce.",
    )


class ResolveForm(forms.Form):
    resolution = forms.CharField(label="Suite donnée", max_length=service.REASON_MAX_LENGTH, required=False)


def _report_limited(request) -> bool:
    return is_ratelimited(
        request, group="exchange:report", key="user", rate=REPORT_RATE, method="POST", increment=True
    )


@login_required
def listing_report(request, pk: int):
    """« Signaler » a listing one can see (not one's own structure's)."""
    listing = get_object_or_404_for(
        request.user, Listing.objects.select_related("structure"), listing_can_view, pk=pk
    )
    deny_unless(service.can_report(request.user, listing))
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if _report_limited(request):
            form.add_error(None, "Vous avez envoyé beaucoup de signalements : réessayez dans une heure.")
            status = 429
        elif form.is_valid():
            try:
                service.report_create(
                    listing=listing,
                    reporter=request.user,
                    reason=form.cleaned_data["reason"],
                    text=form.cleaned_data["text"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
            else:
                messages.success(request, "Merci : votre signalement a été transmis aux animateur·rices.")
                return redirect("exchange:detail", pk=listing.pk)
    return render(request, "exchange/report_form.html", {"form": form, "listing": listing}, status=status)


@login_required
def moderation(request):
    """Facilitators: open reports grouped by listing, hidden listings, recently closed reports."""
    deny_unless(service.can_moderate(request.user))
    reported = (
        Listing.objects.filter(reports__status=ReportStatus.OPEN)
        .annotate(open_reports=Count("reports", filter=Q(reports__status=ReportStatus.OPEN)))
        .select_related("structure")
        .order_by("-open_reports", "pk")
    )
    reports = (
        ListingReport.objects.open()
        .filter(listing__in=[listing.pk for listing in reported])
        .select_related("reporter")
        .order_by("created_at", "pk")
    )
    by_listing: dict[int, list] = {}
    for report in reports:
        by_listing.setdefault(report.listing_id, []).append(report)
    context = {
        "reported": [(listing, by_listing.get(listing.pk, [])) for listing in reported],
        "hidden": list(
            Listing.objects.filter(hidden_at__isnull=False)
            .select_related("structure", "hidden_by")
            .order_by("-hidden_at")
        ),
        "resolved": list(
            ListingReport.objects.filter(status=ReportStatus.RESOLVED)
            .select_related("listing", "resolved_by")
            .order_by("-resolved_at")[:RECENT_RESOLVED]
        ),
        "hide_form": HideForm(),
        "resolve_form": ResolveForm(),
    }
    return render(request, "exchange/moderation.html", context)


@require_POST
@login_required
def listing_hide(request, pk: int):
    deny_unless(service.can_moderate(request.user))
    listing = get_object_or_404(Listing, pk=pk)
    form = HideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Indiquez le motif du masquage : il sera montré à la structure.")
        return redirect(_back(request, listing))
    try:
        service.listing_hide(listing=listing, actor=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Annonce masquée : elle n'apparaît plus publiquement.")
    return redirect(_back(request, listing))


@require_POST
@login_required
def listing_unhide(request, pk: int):
    deny_unless(service.can_moderate(request.user))
    listing = get_object_or_404(Listing, pk=pk)
    try:
        service.listing_unhide(listing=listing, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Annonce de nouveau visible.")
    return redirect(_back(request, listing))


@require_POST
@login_required
def report_resolve(request, pk: int):
    deny_unless(service.can_moderate(request.user))
    report = get_object_or_404(ListingReport, pk=pk)
    form = ResolveForm(request.POST)
    resolution = form.cleaned_data["resolution"] if form.is_valid() else ""
    try:
        service.report_resolve(report=report, actor=request.user, resolution=resolution)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Signalement classé.")
    return redirect("exchange:moderation")


def _back(request, listing: Listing) -> str:
    """Back to the moderation page or to the listing page, whichever the form was on."""
    from django.urls import reverse

    if request.POST.get("retour") == "annonce":
        return reverse("exchange:detail", args=[listing.pk])
    return reverse("exchange:moderation")
