"""Offers and needs: public list, listing page, creation and edition by a structure's members."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from essaim.actors.access import structure_can_view
from essaim.actors.models import Structure, Theme
from essaim.core.access import deny_unless, get_object_or_404_for
from essaim.exchange import services
from essaim.exchange.access import (
    listing_can_edit,
    listing_can_manage,
    listing_can_see_suggestions,
    listing_can_view,
)
from essaim.exchange.matching import listing_suggestions, structure_suggestions
from essaim.exchange.models import Listing
from essaim.exchange.search import listing_filter_terms, listing_search
from essaim.territories.models import Perimeter
from essaim.www.exchange.forms import ALL_TERRITORIES, ListingFilterForm, ListingForm

PAGE_SIZE = 20


def filtered_listings(request):
    """The list's filter form bound to the query string and what it selects, text aside (the list and the
    map search text each their own way): ``(form, data, listings, perimeter)``.

    The territory defaults to the home perimeter, as in the Annuaire. Fields in error are ignored.
    """
    perimeters = list(Perimeter.objects.order_by("-is_home", "name"))
    home = next((perimeter for perimeter in perimeters if perimeter.is_home), None)
    data = request.GET.copy()
    if not data.get("territoire"):
        data["territoire"] = home.slug if home else ALL_TERRITORIES
    form = ListingFilterForm(data, perimeters=perimeters, themes=Theme.objects.active())
    form.is_valid()  # Fields in error are left out of cleaned_data, hence ignored.
    filters = form.cleaned_data

    listings = Listing.objects.listed()
    if filters.get("sens"):
        listings = listings.filter(direction=filters["sens"])
    if filters.get("type"):
        listings = listings.filter(kind=filters["type"])
    if filters.get("theme"):
        listings = listings.with_any_theme(Theme.objects.filter(slug=filters["theme"]).values("pk"))
    perimeter = next((p for p in perimeters if p.slug == filters.get("territoire")), None)
    if perimeter is not None:
        listings = listings.in_perimeter(perimeter)
    return form, data, listings, perimeter


@vary_on_headers("HX-Request")
def listing_list(request):
    """Listed offers and needs, filtered by direction, kind, theme, territory and words (full text).

    HTMX requests get the results only.
    """
    form, data, listings, perimeter = filtered_listings(request)
    filters = form.cleaned_data
    terms = []
    if filters.get("q"):
        # Full text with synonyms, best matches first (see exchange.search), the filters also answered by
        # the text index.
        theme = filters.get("theme")
        terms = listing_filter_terms(
            direction=filters.get("sens"),
            kind=filters.get("type"),
            theme_ids=list(Theme.objects.filter(slug=theme).values_list("pk", flat=True)) if theme else None,
            perimeter=perimeter,
        )
    listings = listing_search(
        text=filters.get("q", ""),
        queryset=listings.order_by("-published_at", "-pk"),
        related=("structure__commune",),
        terms=terms,
    )
    page = Paginator(listings, PAGE_SIZE).get_page(request.GET.get("page"))
    query = data.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "perimeter": perimeter,
        # The list counts up to exchange.search.COUNT_CAP listings: « plus de 1 000 annonces ».
        "count_capped": listings.capped,
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "exchange/_listing_results.html", context)
    return render(request, "exchange/listing_list.html", context)


def listing_detail(request, pk: int):
    """A listing's page; its structure's members and facilitators also see the matching suggestions."""
    listing = get_object_or_404_for(
        request.user,
        Listing.objects.select_related("structure__commune").prefetch_related("themes"),
        listing_can_view,
        pk=pk,
    )
    can_edit = listing_can_edit(request.user, listing)
    suggestions = structures_suggested = None
    if listing_can_see_suggestions(request.user, listing):
        suggestions = listing_suggestions(listing=listing)
        structures_suggested = structure_suggestions(listing=listing)
    return render(
        request,
        "exchange/listing_detail.html",
        {
            "listing": listing,
            "can_edit": can_edit,
            "suggestions": suggestions,
            "structures_suggested": structures_suggested,
        },
    )


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
def listing_create(request, slug: str):
    """A member of the structure (or a facilitator) writes a draft offer or need for it."""
    structure = get_object_or_404(Structure, slug=slug)
    deny_unless(structure_can_view(request.user, structure) and listing_can_manage(request.user, structure))
    form = ListingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            listing = services.listing_create(
                structure=structure, actor=request.user, **form.service_arguments()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Annonce enregistrée (brouillon). Publiez-la quand elle est prête.")
            return redirect("exchange:detail", pk=listing.pk)
    return render(
        request, "exchange/listing_form.html", {"form": form, "listing": None, "structure": structure}
    )


@login_required
def listing_edit(request, pk: int):
    listing = get_object_or_404_for(
        request.user, Listing.objects.select_related("structure"), listing_can_edit, pk=pk
    )
    form = ListingForm(request.POST or None, instance=listing)
    if request.method == "POST" and form.is_valid():
        try:
            # ModelForm validation wrote the values on the instance already: the service reads the stored row.
            services.listing_update(listing=listing, actor=request.user, **form.service_arguments())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Annonce enregistrée.")
            return redirect("exchange:detail", pk=listing.pk)
    return render(
        request,
        "exchange/listing_form.html",
        {"form": form, "listing": listing, "structure": listing.structure},
    )


STATUS_ACTIONS = {
    "publish": (services.listing_publish, "Annonce publiée."),
    "withdraw": (services.listing_withdraw, "Annonce retirée."),
    "fulfil": (services.listing_fulfil, "Annonce marquée comme satisfaite."),
    "extend": (services.listing_extend, "Annonce prolongée de trois mois."),
}


@require_POST
@login_required
def listing_status(request, pk: int):
    """Publish, withdraw or close a listing: its structure's members and facilitators."""
    listing = get_object_or_404_for(request.user, Listing, listing_can_edit, pk=pk)
    action = request.POST.get("action", "")
    if action not in STATUS_ACTIONS:
        raise Http404("Action inconnue.")
    service, message = STATUS_ACTIONS[action]
    try:
        service(listing=listing, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, message)
    return redirect("exchange:detail", pk=listing.pk)
