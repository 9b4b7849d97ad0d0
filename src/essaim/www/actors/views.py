"""Public directory of structures (the "Annuaire")."""

from dataclasses import dataclass
from functools import cached_property

from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from essaim.actors.access import structure_can_see_qualification, structure_can_view
from essaim.actors.models import Label, Structure, Theme
from essaim.actors.search import StructureFilters, structure_search, structure_selection
from essaim.territories.models import Commune, Departement, Perimeter
from essaim.www.actors.forms import ALL_TERRITORIES, DEFAULT_RADIUS, HEADCOUNT_GROUPS, StructureFilterForm

PAGE_SIZE = 20


@dataclass
class DirectoryFilter:
    """The directory's filter form bound to a request, the search it describes, and the whole selection
    (every page: the exports download it)."""

    form: StructureFilterForm
    data: QueryDict
    perimeter: Perimeter | None
    text: str
    filters: StructureFilters
    sort: str
    centre_commune: Commune | None

    @cached_property
    def structures(self) -> QuerySet:
        return structure_selection(text=self.text, filters=self.filters)


def _point(data: QueryDict) -> tuple[float, float] | None:
    """A centre given as ``lat``/``lon`` in the URL (e.g. from the map), or None when absent or invalid."""
    try:
        lat, lon = float(data.get("lat", "")), float(data.get("lon", ""))
    except ValueError:
        return None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return (lat, lon)
    return None


def directory_filter(request) -> DirectoryFilter:
    """Bind the directory filters to ``request.GET`` (shared by the directory page and its exports).

    The territory defaults to the instance's home perimeter ("territoire d'action") when there is one;
    a field with an invalid value is ignored (and shown in error by the form).
    """
    perimeters = list(Perimeter.objects.order_by("-is_home", "name"))
    home = next((perimeter for perimeter in perimeters if perimeter.is_home), None)
    data = request.GET.copy()
    if not data.get("territoire"):
        data["territoire"] = home.slug if home else ALL_TERRITORIES
    form = StructureFilterForm(
        data,
        perimeters=perimeters,
        themes=Theme.objects.active().values_list("slug", "label"),
        labels=Label.objects.active().values_list("slug", "label"),
        departements=(
            (code, f"{name} ({code})") for code, name in Departement.objects.values_list("code", "name")
        ),
    )
    form.is_valid()  # Fields in error are left out of cleaned_data, hence ignored.
    cleaned = form.cleaned_data

    perimeter = next((p for p in perimeters if p.slug == cleaned.get("territoire")), None)
    commune = cleaned.get("commune")
    centre = (commune.latitude, commune.longitude) if commune is not None else _point(data)
    radius = float(cleaned.get("rayon") or DEFAULT_RADIUS) if centre else None
    group = HEADCOUNT_GROUPS.get(cleaned.get("effectif") or "")
    filters = StructureFilters(
        families=tuple(cleaned.get("famille") or ()),
        themes=tuple(cleaned.get("thematique") or ()),
        labels=tuple(cleaned.get("reseau") or ()),
        departements=tuple(cleaned.get("departement") or ()),
        perimeter=perimeter,
        centre=centre,
        radius_km=radius,
        headcount_bands=tuple(group[1]) if group else (),
    )
    text = cleaned.get("q") or ""
    return DirectoryFilter(
        form=form,
        data=data,
        perimeter=perimeter,
        text=text,
        filters=filters,
        sort=cleaned.get("tri") or "",
        centre_commune=commune,
    )


def _page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


@vary_on_headers("HX-Request")
def structure_list(request):
    """Published structures found by text, filters (with facet counts) and sort, paginated.

    HTMX requests get the results fragment only (the facets and download links are swapped out-of-band).
    A query typed in the page (HTMX) whose last word is not finished by a space searches that word as a
    prefix too (search as you type); a page loaded whole matches whole words first (see ``structure_search``).
    """
    selection = directory_filter(request)
    typing = bool(request.htmx) and not request.htmx.history_restore_request
    raw_text = request.GET.get("q", "")
    result = structure_search(
        text=selection.text,
        filters=selection.filters,
        sort=selection.sort,
        page=_page_number(request.GET.get("page")),
        per_page=PAGE_SIZE,
        prefix=typing and raw_text == raw_text.rstrip(),
    )
    query = selection.data.copy()
    query.pop("page", None)
    form = selection.form
    facets = [
        {"facet": result.facets[name], "field": form[field]}
        for name, field in (
            ("families", "famille"),
            ("themes", "thematique"),
            ("labels", "reseau"),
            ("departements", "departement"),
        )
        if name in result.facets
    ]
    context = {
        "form": form,
        "result": result,
        "facets": facets,
        "query": query.urlencode(),
        "perimeter": selection.perimeter,
        "centre_commune": selection.centre_commune,
        "text": selection.text,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "actors/_structure_results.html", context)
    return render(request, "actors/structure_list.html", context)


def structure_detail(request, slug: str):
    """A structure's public card; 404 for a card the user may not see (unpublished, not theirs)."""
    structure = get_object_or_404(
        Structure.objects.select_related("commune", "legal_category").prefetch_related("themes", "labels"),
        slug=slug,
    )
    if structure.merged_into_id is not None:
        # A merged card's address lives on: it points for good to the card it was merged into.
        return redirect(reverse("actors:detail", args=[structure.merged_into.slug]), permanent=True)
    if not structure_can_view(request.user, structure):
        raise Http404("Structure introuvable.")
    context = {"structure": structure, "facilitator_view": None}
    if structure_can_see_qualification(request.user, structure):
        context["facilitator_view"] = {
            "qualification": structure.qualification,
            "provenances": structure.field_provenances(),
            "pending_changes": list(structure.pending_changes.order_by("field")),
            "establishments": list(structure.establishments.select_related("commune")),
        }
    return render(request, "actors/structure_detail.html", context)
