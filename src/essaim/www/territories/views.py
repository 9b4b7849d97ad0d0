"""Public territory pages: commune autocomplete, commune finder, perimeter page."""

from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from essaim.territories.models import SEARCH_MIN_LENGTH, Commune, Perimeter, search_text_normalize
from essaim.www.territories.forms import COMMUNE_LISTBOX_ID, CommuneSearchForm

AUTOCOMPLETE_LIMIT = 10
PERIMETER_PAGE_SIZE = 50


def _commune_search(query: str, limit: int) -> list[Commune]:
    return list(
        Commune.objects.select_related("departement")
        .prefetch_related("postal_codes")
        .search(query, limit=limit)
    )


def _too_short(query: str) -> bool:
    return len(search_text_normalize(query).replace(" ", "")) < SEARCH_MIN_LENGTH


@require_GET
def commune_autocomplete(request):
    """Communes matching ``q``: a listbox partial for HTMX requests, JSON otherwise."""
    query = request.GET.get("q", "")[:100]
    too_short = _too_short(query)
    communes = [] if too_short else _commune_search(query, AUTOCOMPLETE_LIMIT)
    if request.htmx:
        listbox_id = request.GET.get("listbox", "")
        if not listbox_id.replace("-", "").isalnum() or len(listbox_id) > 50:
            listbox_id = COMMUNE_LISTBOX_ID
        return render(
            request,
            "territories/_commune_options.html",
            {"communes": communes, "too_short": too_short, "listbox_id": listbox_id, "query": query},
        )
    return JsonResponse(
        {
            "query": query,
            "message": f"Saisissez au moins {SEARCH_MIN_LENGTH} caractères." if too_short else "",
            "results": [
                {
                    "code": commune.code,
                    "name": commune.name,
                    "label": str(commune),
                    "departement": {"code": commune.departement.code, "name": commune.departement.name},
                    "postal_codes": [postal.code for postal in commune.postal_codes.all()],
                    "url": reverse("territories:commune_finder") + f"?commune={commune.code}",
                }
                for commune in communes
            ],
        }
    )


@require_GET
def commune_finder(request):
    """ "Trouver une commune": the combobox, a plain result list without JavaScript, the chosen commune."""
    form = CommuneSearchForm(request.GET or None)
    commune = perimeters = None
    results: list[Commune] = []
    not_found = False
    if form.is_valid():
        code = form.cleaned_data["commune"].strip()
        query = form.cleaned_data["q"]
        if code:
            commune = (
                Commune.objects.select_related("departement__region", "epci")
                .prefetch_related("postal_codes")
                .filter(code=code)
                .first()
            )
            not_found = commune is None
            if commune is not None:
                perimeters = list(Perimeter.objects.containing(commune).order_by("-is_home", "name"))
        elif query and not _too_short(query):
            results = _commune_search(query, 20)
    return render(
        request,
        "territories/commune_finder.html",
        {
            "form": form,
            "commune": commune,
            "perimeters": perimeters,
            "results": results,
            "not_found": not_found,
            "searched": form.is_bound,
            "listbox_id": COMMUNE_LISTBOX_ID,
        },
    )


@require_GET
def perimeter_detail(request, slug: str):
    """A perimeter: its figures and its communes, paginated."""
    perimeter = get_object_or_404(Perimeter, slug=slug)
    communes = (
        Commune.objects.in_perimeter(perimeter).select_related("departement", "epci").order_by("name", "code")
    )
    figures = communes.aggregate(
        communes=Count("id"),
        population=Sum("population"),
        with_point=Count("id", filter=Q(latitude__isnull=False)),
    )
    page = Paginator(communes, PERIMETER_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "territories/perimeter_detail.html",
        {"perimeter": perimeter, "figures": figures, "page": page},
    )
