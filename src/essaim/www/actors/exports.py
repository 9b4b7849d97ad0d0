"""Open-data downloads of the directory, with the same filters as the directory page."""

from django.conf import settings
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_ratelimit.core import is_ratelimited

from essaim.accounts.lockout import client_ip_key
from essaim.actors.exports import FORMATS, structures_export
from essaim.www.actors.views import directory_filter


@require_GET
def structure_export(request, fmt: str):
    """The published structures selected by the directory filters, as a download in format ``fmt``
    (csv, xlsx, geojson, datainclusion.json); 404 for another format. Streamed, never built in memory."""
    if fmt not in FORMATS:
        raise Http404("Format d'export inconnu.")
    # Each export walks the whole selection: limit them per client address (ESSAIM_EXPORT_RATE), all
    # formats together, with the site's French 429 page.
    if is_ratelimited(
        request,
        group="actors:export",
        key=client_ip_key,
        rate=settings.ESSAIM_EXPORT_RATE,
        increment=True,
    ):
        message = (
            "Trop de téléchargements de l'annuaire ont été demandés depuis votre adresse réseau. "
            "Les exports sont temporairement indisponibles pour vous."
        )
        return render(request, "accounts/rate_limited.html", {"rate_limit_message": message}, status=429)
    selection = directory_filter(request)
    export = structures_export(
        queryset=selection.structures, fmt=fmt, base_url=f"{request.scheme}://{request.get_host()}"
    )
    response = StreamingHttpResponse(export.chunks, content_type=export.format.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename()}"'
    return response
