"""Privacy pages of the agenda: the public participant list (opt-in only), and a person's own registration
data — export (JSON, CSV) and deletion — from their account or from the signed link of a registration."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from django_ratelimit.core import is_ratelimited

from essaim.accounts.lockout import client_ip_key
from essaim.core.access import get_object_or_404_for
from essaim.core.audit import log_action
from essaim.core.site import request_site_url
from essaim.events import privacy, services
from essaim.events.access import event_can_view
from essaim.events.models import Event, Registration, RegistrationStatus

# Links to all the registrations of an address, sent to it: per client address.
EMAIL_LINK_RATE = "5/h"

EXPORTS = {
    "json": (privacy.registrations_export_json, privacy.JSON_CONTENT_TYPE),
    "csv": (privacy.registrations_export_csv, privacy.CSV_CONTENT_TYPE),
}


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label=(
            "Je confirme : mes inscriptions à venir sont annulées et mes données personnelles sont effacées "
            "de toutes ces inscriptions. C'est définitif."
        ),
        error_messages={"required": "Cochez la case pour confirmer la suppression."},
    )


def public_participants(request, slug: str):
    """The names and structures of the confirmed participants who agreed to appear here (never emails)."""
    event = get_object_or_404_for(request.user, Event, event_can_view, slug=slug)
    people = (
        event.registrations.filter(
            status=RegistrationStatus.CONFIRMED, public_listing=True, anonymised_at__isnull=True
        )
        .select_related("structure")
        .order_by("search_name", "pk")
    )
    return render(request, "events/public_participants.html", {"event": event, "people": people})


def _page(
    request, registrations, form, *, signature="", export_view="", address="", one_registration=False
) -> HttpResponse:
    """The registrations page of a signed-in person (no ``signature``) or of a signed link (its
    ``export_view``, and the ``address`` it was made with or sent to)."""
    context = {
        "registrations": registrations,
        "form": form,
        "signature": signature,
        "export_view": export_view,
        "address": address,
        "one_registration": one_registration,
    }
    return render(request, "events/privacy.html", context)


def _export(request, registrations, fmt: str, *, actor=None) -> HttpResponse:
    if fmt not in EXPORTS:
        raise Http404("Format inconnu.")
    build, content_type = EXPORTS[fmt]
    registrations = list(registrations)
    log_action(
        actor=actor, verb="events.registrations.exported_by_person", data={"count": len(registrations)}
    )
    response = HttpResponse(build(registrations), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="mes-inscriptions.{fmt}"'
    return response


# --- Signed-in person ------------------------------------------------------------------------------------


@login_required
def my_data(request):
    """The signed-in person's registrations, with export and deletion."""
    registrations = privacy.person_registrations(user=request.user)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = privacy.person_data_delete(
            registrations=registrations, actor=request.user, base_url=request_site_url(request)
        )
        messages.success(request, _deleted_message(result))
        return redirect("events:my_data")
    return _page(request, registrations, form)


@require_GET
@login_required
def my_data_export(request, fmt: str):
    return _export(request, privacy.person_registrations(user=request.user), fmt, actor=request.user)


# --- Person without an account: the signed link of a registration ----------------------------------------


def _signed_registrations(signature: str):
    """The registration of a signed link, and the queryset of it alone (a forwarded email must not open the
    others of its address: see ``email_data``). 404 for a bad or dead link."""
    registration = services.registration_from_signature(signature)
    if registration is None or registration.anonymised_at is not None:
        raise Http404("Lien invalide.")
    return registration, Registration.objects.filter(pk=registration.pk).select_related("event")


def manage_data(request, signature: str):
    registration, registrations = _signed_registrations(signature)
    if request.method == "POST" and request.POST.get("action") == "send_link":
        return _send_email_link(request, registration, signature)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = privacy.person_data_delete(registrations=registrations, base_url=request_site_url(request))
        messages.success(request, _deleted_message(result))
        # The signed link died with the token: back to the event's page, or to the home page when the
        # visitor may not see it (a members-only event and no account): a 404 would hide the message.
        if event_can_view(request.user, registration.event):
            return redirect("events:detail", slug=registration.event.slug)
        return redirect("www:home")
    return _page(
        request,
        registrations,
        form,
        signature=signature,
        export_view="events:manage_data_export",
        address=registration.email,
        one_registration=True,
    )


@require_GET
def manage_data_export(request, signature: str, fmt: str):
    _, registrations = _signed_registrations(signature)
    return _export(request, registrations, fmt)


def _send_email_link(request, registration, signature: str):
    """Send the registration's address a link to all its registrations; a few per client address an hour."""
    if is_ratelimited(
        request, group="events:email-link", key=client_ip_key, rate=EMAIL_LINK_RATE, increment=True
    ):
        message = "Trop de liens ont été demandés depuis votre adresse réseau. Réessayez dans une heure."
        return render(request, "accounts/rate_limited.html", {"rate_limit_message": message}, status=429)
    if privacy.email_data_link_send(registration=registration, base_url=request_site_url(request)):
        messages.success(
            request,
            f"Un lien vers toutes les inscriptions faites avec l'adresse {registration.email} vient d'y être "
            "envoyé. Il est valable 24 heures.",
        )
    else:
        messages.error(
            request, "Cette inscription a été faite sans adresse électronique : aucun lien à envoyer."
        )
    return redirect("events:manage_data", signature=signature)


# --- Every registration of an address: the link sent to it on request ------------------------------------


def _email_registrations(signature: str):
    email = privacy.email_from_data_signature(signature)
    if email is None:
        raise Http404("Lien invalide ou expiré.")
    return email, privacy.person_registrations(email=email)


def email_data(request, signature: str):
    """Every registration made with the address the link was sent to, with export and deletion."""
    email, registrations = _email_registrations(signature)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = privacy.person_data_delete(registrations=registrations, base_url=request_site_url(request))
        messages.success(request, _deleted_message(result))
        return redirect("www:home")  # the link died with the data
    return _page(
        request,
        registrations,
        form,
        signature=signature,
        export_view="events:email_data_export",
        address=email,
    )


@require_GET
def email_data_export(request, signature: str, fmt: str):
    _, registrations = _email_registrations(signature)
    return _export(request, registrations, fmt)


def _deleted_message(result: dict) -> str:
    if not result["anonymised"]:
        return "Aucune inscription à supprimer."
    text = f"Données effacées de {result['anonymised']} inscription{'s' if result['anonymised'] > 1 else ''}"
    if result["cancelled"]:
        text += f" ({result['cancelled']} inscription{'s' if result['cancelled'] > 1 else ''} à venir annulée"
        text += "s)" if result["cancelled"] > 1 else ")"
    return text + "."
