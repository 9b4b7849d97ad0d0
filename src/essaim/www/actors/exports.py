"""Open-data downloads of the directory, with the same filters as the directory page."""

from django.http import Http404, StreamingHttpResponse
from django.views.decorators.http import require_GET

from essaim.actors.exports import FORMATS, structures_export
from essaim.www.actors.views import directory_filter


@require_GET
def structure_export(request, fmt: str):
    """The published structures selected by the directory filters, as a download in format ``fmt``
    (csv, xlsx, geojson, datainclusion.json); 404 for another format. Streamed, never built in memory."""
    if fmt not in FORMATS:
        raise Http404("Format d'export inconnu.")
    selection = directory_filter(request)
    export = structures_export(
        queryset=selection.structures, fmt=fmt, base_url=f"{request.scheme}://{request.get_host()}"
    )
    response = StreamingHttpResponse(export.chunks, content_type=export.format.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename()}"'
    return response
