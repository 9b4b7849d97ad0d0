"""Public directory of structures (the "Annuaire")."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.vary import vary_on_headers

from essaim.actors.access import structure_can_see_qualification, structure_can_view
from essaim.actors.models import Structure
from essaim.territories.models import Perimeter
from essaim.www.actors.forms import ALL_TERRITORIES, StructureFilterForm

PAGE_SIZE = 20


@vary_on_headers("HX-Request")
def structure_list(request):
    """Published structures filtered by territory, family and name, paginated.

    The territory defaults to the instance's home perimeter ("territoire d'action") when there is one.
    HTMX requests get the results fragment only.
    """
    perimeters = list(Perimeter.objects.order_by("-is_home", "name"))
    home = next((perimeter for perimeter in perimeters if perimeter.is_home), None)
    data = request.GET.copy()
    if not data.get("territoire"):
        data["territoire"] = home.slug if home else ALL_TERRITORIES
    form = StructureFilterForm(data, perimeters=perimeters)
    form.is_valid()  # Fields in error are left out of cleaned_data, hence ignored.
    filters = form.cleaned_data

    structures = Structure.objects.published().select_related("commune")
    perimeter = next((p for p in perimeters if p.slug == filters.get("territoire")), None)
    if perimeter is not None:
        structures = structures.in_perimeter(perimeter)
    if filters.get("famille"):
        structures = structures.of_family(filters["famille"])
    if filters.get("q"):
        structures = structures.search(filters["q"])
    page = Paginator(structures.order_by("name", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))

    query = data.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "perimeter": perimeter}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "actors/_structure_results.html", context)
    return render(request, "actors/structure_list.html", context)


def structure_detail(request, slug: str):
    """A structure's public card; 404 for a card the user may not see (unpublished, not theirs)."""
    structure = get_object_or_404(
        Structure.objects.select_related("commune", "legal_category").prefetch_related("themes", "labels"),
        slug=slug,
    )
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
