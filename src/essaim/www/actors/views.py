"""Public directory of structures (the "Annuaire")."""

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from essaim.actors.access import structure_can_see_qualification, structure_can_view
from essaim.actors.models import Structure
from essaim.territories.models import Perimeter
from essaim.www.actors.forms import ALL_TERRITORIES, StructureFilterForm

PAGE_SIZE = 20


@dataclass
class DirectoryFilter:
    """The directory's filter form bound to a request, and the published structures it selects."""

    form: StructureFilterForm
    data: QueryDict
    perimeter: Perimeter | None
    structures: QuerySet


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
    form = StructureFilterForm(data, perimeters=perimeters)
    form.is_valid()  # Fields in error are left out of cleaned_data, hence ignored.
    filters = form.cleaned_data

    structures = Structure.objects.published()
    perimeter = next((p for p in perimeters if p.slug == filters.get("territoire")), None)
    if perimeter is not None:
        structures = structures.in_perimeter(perimeter)
    if filters.get("famille"):
        structures = structures.of_family(filters["famille"])
    if filters.get("q"):
        structures = structures.search(filters["q"])
    return DirectoryFilter(form=form, data=data, perimeter=perimeter, structures=structures)


@vary_on_headers("HX-Request")
def structure_list(request):
    """Published structures filtered by territory, family and name, paginated.

    HTMX requests get the results fragment only.
    """
    selection = directory_filter(request)
    form, data, perimeter = selection.form, selection.data, selection.perimeter
    structures = selection.structures.select_related("commune")
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
