"""Pages behind the links of the freshness reminder: "toujours exact" and unsubscribe.

The signed token in the URL is the credential: nobody needs to be signed in. A GET only shows the card and a
button; the POST does the work (mail scanners prefetch links, a GET must change nothing).
"""

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from essaim.actors.freshness import (
    FreshnessLinkError,
    edit_url,
    email_for_unsubscribe_token,
    freshness_confirm,
    freshness_opt_out,
    reminder_for_token,
)

# Status of the error page per reason: a stale link is "gone", a tampered one a bad request.
ERROR_STATUS = {"invalid": 400, "expired": 410, "used": 410, "unavailable": 410}


def _no_index(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    """GET: the card and a "Confirmer" button; POST: the card is verified and the link spent."""
    try:
        reminder = reminder_for_token(token)
    except FreshnessLinkError as error:
        context = {"error": str(error), "code": error.code}
        return _no_index(
            render(request, "actors/freshness/confirm.html", context, status=ERROR_STATUS[error.code])
        )
    structure = reminder.structure
    if request.method == "POST":
        try:
            structure = freshness_confirm(token=token, actor=request.user)
        except FreshnessLinkError as error:
            context = {"error": str(error), "code": error.code}
            return _no_index(
                render(request, "actors/freshness/confirm.html", context, status=ERROR_STATUS[error.code])
            )
        context = {
            "structure": structure,
            "edit_url": edit_url(structure),
            "card_url": reverse("actors:detail", kwargs={"slug": structure.slug}),
        }
        return _no_index(render(request, "actors/freshness/confirmed.html", context))
    context = {
        "structure": structure,
        "themes": list(structure.themes.all()),
        "edit_url": edit_url(structure),
        "card_url": reverse("actors:detail", kwargs={"slug": structure.slug}),
    }
    return _no_index(render(request, "actors/freshness/confirm.html", context))


# Mail clients send the RFC 8058 one-click unsubscribe as a bare POST without a CSRF token; the signed
# token in the URL is what authorises it, and unsubscribing harms nobody.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """GET: a button to stop the reminders to this address; POST: the address is unsubscribed."""
    try:
        email = email_for_unsubscribe_token(token)
    except FreshnessLinkError as error:
        return _no_index(
            render(request, "actors/freshness/unsubscribe.html", {"error": str(error)}, status=400)
        )
    done = False
    if request.method == "POST":
        freshness_opt_out(email=email)
        done = True
    return _no_index(render(request, "actors/freshness/unsubscribe.html", {"email": email, "done": done}))
