"""Site pages: home, legal and accessibility pages, sections in preparation, French error pages."""

import datetime

from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseForbidden, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.urls import reverse

# Date the accessibility statement was last established (update it with each new evaluation).
ACCESSIBILITY_STATEMENT_DATE = datetime.date(2026, 11, 23)

# Sections of the main navigation that are not built yet: an honest page says what they will offer.
SECTIONS_IN_PREPARATION = {
    "resources": {
        "title": "Ressources",
        "summary": "Des guides, modèles et fiches pratiques partagés entre les structures.",
        "features": [
            "des documents classés par thème : gouvernance, financement, emploi, communication ;",
            "une recherche plein texte ;",
            "des ressources proposées par les membres et relues par l'équipe d'animation.",
        ],
    },
}


def operator_context() -> dict:
    """Who runs this instance, from the ESSAIM_OPERATOR_* settings (empty strings when not configured)."""
    return {
        "operator_name": settings.ESSAIM_OPERATOR_NAME,
        "operator_address": settings.ESSAIM_OPERATOR_ADDRESS,
        "contact_email": settings.ESSAIM_CONTACT_EMAIL,
        "publication_director": settings.ESSAIM_PUBLICATION_DIRECTOR,
        "hosting_provider": settings.ESSAIM_HOSTING_PROVIDER,
        "source_code_url": settings.ESSAIM_SOURCE_CODE_URL,
    }


def home(request):
    sections = [
        {"key": key, "url": reverse(f"www:{key}"), **data} for key, data in SECTIONS_IN_PREPARATION.items()
    ]
    return render(request, "www/home.html", {"sections": sections})


def accessibility(request):
    context = {**operator_context(), "statement_date": ACCESSIBILITY_STATEMENT_DATE}
    return render(request, "www/accessibility.html", context)


def legal(request):
    return render(request, "www/legal.html", operator_context())


def privacy(request):
    # The page states the retention periods the purge task really applies (core.retention).
    context = {
        **operator_context(),
        "email_retention_days": settings.ESSAIM_EMAIL_RETENTION_DAYS,
        "login_log_retention_days": settings.ESSAIM_LOGIN_LOG_RETENTION_DAYS,
        "events_retention_months": settings.ESSAIM_EVENTS_RETENTION_MONTHS,
    }
    return render(request, "www/privacy.html", context)


def sitemap(request):
    sections = [
        {"url": reverse(f"www:{key}"), "title": data["title"]}
        for key, data in SECTIONS_IN_PREPARATION.items()
    ]
    return render(request, "www/sitemap.html", {"sections": sections})


def section_in_preparation(request, *, section: str):
    context = {"section": {"key": section, **SECTIONS_IN_PREPARATION[section]}}
    return render(request, "www/section_in_preparation.html", context)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a French explanation inside the site layout (Django logs the reason)."""
    return HttpResponseForbidden(loader.render_to_string("403_csrf.html", request=request))


def bad_request(request, exception):
    """handler400: rendered without the request, which may be what is broken."""
    return HttpResponseBadRequest(
        loader.render_to_string("400.html", {"site_name": settings.ESSAIM_SITE_NAME})
    )


def server_error(request):
    """handler500: rendered without the request or context processors, which may be what failed."""
    return HttpResponseServerError(
        loader.render_to_string("500.html", {"site_name": settings.ESSAIM_SITE_NAME})
    )
