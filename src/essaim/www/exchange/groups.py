"""Group purchases (order sheet, participations, aggregated order, exports) and shared-job groupings.

Everything answers 404 to whoever may not see it, as the rest of the app does.
"""

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from essaim.actors.models import Structure
from essaim.core.access import deny_unless, get_object_or_404_for
from essaim.exchange import group_purchases, shared_jobs
from essaim.exchange.access import (
    group_purchase_can_join_for,
    group_purchase_can_manage,
    listing_can_edit,
    listing_can_view,
    shared_job_groups_can_browse,
)
from essaim.exchange.models import Direction, GroupPurchase, Kind, Listing
from essaim.www.exchange.group_forms import (
    GroupPurchaseForm,
    ParticipationForm,
    ProductFormSet,
    SharedJobForm,
)

SLUG = re.compile(r"[-a-zA-Z0-9_]+")

EXPORT_FORMATS = {
    "csv": (group_purchases.order_csv, group_purchases.CSV_CONTENT_TYPE),
    "xlsx": (group_purchases.order_xlsx, group_purchases.XLSX_CONTENT_TYPE),
}


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _listing(request, pk: int, kind: str, check=listing_can_view) -> Listing:
    """The need of ``kind`` the user may see (``check``), else 404."""
    listing = get_object_or_404_for(
        request.user, Listing.objects.select_related("structure__commune"), check, pk=pk
    )
    if listing.kind != kind or listing.direction != Direction.NEED:
        raise Http404("Page introuvable.")
    return listing


def _purchase(listing: Listing) -> GroupPurchase:
    purchase = GroupPurchase.objects.filter(listing=listing).first()
    if purchase is None:
        raise Http404("Page introuvable.")
    return purchase


def _member_structures(user):
    if not user.is_authenticated:
        return []
    return list(Structure.objects.filter(memberships__user=user).order_by("name"))


# --- Group purchases


def group_purchase_detail(request, pk: int):
    """The purchase: products and totals for everyone; the participations of the user's structures; the
    order per structure, the exports and the closing for the initiator and the facilitators."""
    listing = _listing(request, pk, Kind.GROUP_PURCHASE)
    purchase = GroupPurchase.objects.filter(listing=listing).first()
    can_manage = group_purchase_can_manage(request.user, listing)
    if purchase is None and not can_manage:
        raise Http404("Page introuvable.")
    context = {
        "listing": listing,
        "purchase": purchase,
        "can_manage": can_manage,
        "is_open": purchase.is_open() if purchase else False,
        "totals": group_purchases.group_purchase_totals(purchase) if purchase else [],
        "order": group_purchases.group_purchase_order(purchase) if purchase and can_manage else None,
        "participants_count": purchase.participations.count() if purchase else 0,
        "mine": [],
        "is_facilitator": bool(getattr(request.user, "is_facilitator", False)),
    }
    if purchase is not None:
        joined = set(purchase.participations.values_list("structure_id", flat=True))
        context["mine"] = [
            (structure, structure.pk in joined) for structure in _member_structures(request.user)
        ]
    return render(request, "exchange/group_purchase_detail.html", context)


@login_required
def group_purchase_setup(request, pk: int):
    """The initiator sets (or changes) the products and the deadline."""
    listing = _listing(request, pk, Kind.GROUP_PURCHASE, check=group_purchase_can_manage)
    purchase = GroupPurchase.objects.filter(listing=listing).first()
    initial_products = (
        [
            {
                "pk": p.pk,
                "label": p.label,
                "unit": p.unit,
                "unit_price": None if p.unit_price_cents is None else p.unit_price_cents / 100,
            }
            for p in purchase.products.all()
        ]
        if purchase
        else []
    )
    form = GroupPurchaseForm(
        request.POST or None, initial={"deadline": purchase.deadline} if purchase else None
    )
    formset = ProductFormSet(request.POST or None, initial=initial_products, prefix="produits")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        products = [product for f in formset.forms if (product := f.product()) is not None]
        try:
            group_purchases.group_purchase_configure(
                listing=listing, actor=request.user, deadline=form.cleaned_data["deadline"], products=products
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Achat groupé enregistré.")
            return redirect("exchange:group_purchase", pk=listing.pk)
    return render(
        request,
        "exchange/group_purchase_form.html",
        {"listing": listing, "purchase": purchase, "form": form, "formset": formset},
    )


@login_required
def group_purchase_participate(request, pk: int, slug: str):
    """Join, change or withdraw the participation of one structure (its members, or a facilitator)."""
    listing = _listing(request, pk, Kind.GROUP_PURCHASE)
    structure = get_object_or_404(Structure, slug=slug)
    deny_unless(group_purchase_can_join_for(request.user, structure))
    purchase = _purchase(listing)
    products = list(purchase.products.all())
    participation = purchase.participations.filter(structure=structure).first()
    current = {line.product_id: line.quantity for line in participation.lines.all()} if participation else {}
    form = ParticipationForm(request.POST or None, products=products, initial_quantities=current)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "withdraw":
                group_purchases.group_purchase_withdraw(
                    purchase=purchase, structure=structure, actor=request.user
                )
                messages.success(request, f"La participation de {structure.name} est retirée.")
                return redirect("exchange:group_purchase", pk=listing.pk)
            if form.is_valid():
                group_purchases.group_purchase_join(
                    purchase=purchase, structure=structure, actor=request.user, quantities=form.quantities()
                )
                messages.success(request, f"La participation de {structure.name} est enregistrée.")
                return redirect("exchange:group_purchase", pk=listing.pk)
        except ValidationError as exc:
            _add_errors(form, exc)
    return render(
        request,
        "exchange/group_purchase_participation.html",
        {
            "listing": listing,
            "purchase": purchase,
            "structure": structure,
            "participation": participation,
            "form": form,
            "is_open": purchase.is_open(),
        },
    )


@login_required
def group_purchase_for_structure(request, pk: int):
    """A facilitator picks the structure to register by its address in the directory (``?structure=slug``)."""
    slug = request.GET.get("structure", "").strip().rstrip("/").rsplit("/", 1)[-1]
    # Typed by hand: anything that is not a slug would make the redirect's URL reversing fail (500).
    if not SLUG.fullmatch(slug):
        raise Http404("Page introuvable.")
    return redirect("exchange:group_purchase_participate", pk=pk, slug=slug)


@require_POST
@login_required
def group_purchase_close(request, pk: int):
    listing = _listing(request, pk, Kind.GROUP_PURCHASE, check=group_purchase_can_manage)
    purchase = _purchase(listing)
    try:
        group_purchases.group_purchase_close(purchase=purchase, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Achat groupé clos : la commande est définitive.")
    return redirect("exchange:group_purchase", pk=listing.pk)


@login_required
def group_purchase_export(request, pk: int, fmt: str):
    """The aggregated order as CSV or XLSX: the initiator and the facilitators."""
    listing = _listing(request, pk, Kind.GROUP_PURCHASE, check=group_purchase_can_manage)
    if fmt not in EXPORT_FORMATS:
        raise Http404("Page introuvable.")
    purchase = _purchase(listing)
    build, content_type = EXPORT_FORMATS[fmt]
    response = HttpResponse(build(group_purchases.group_purchase_order(purchase)), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="achat-groupe-{listing.pk}.{fmt}"'
    return response


# --- Shared jobs


@login_required
def shared_job_edit(request, pk: int):
    """The job and the share of a post of a shared-job need: its structure's members and facilitators."""
    listing = _listing(request, pk, Kind.SHARED_JOB, check=listing_can_edit)
    profile = getattr(listing, "shared_job", None)
    initial = {"job_title": profile.job_title, "fte": profile.fte} if profile else None
    form = SharedJobForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            shared_jobs.shared_job_set(listing=listing, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Métier et temps de travail enregistrés.")
            return redirect("exchange:detail", pk=listing.pk)
    return render(request, "exchange/shared_job_form.html", {"listing": listing, "form": form})


@login_required
def shared_job_groups(request):
    """Every suggested shared post: facilitators only."""
    deny_unless(shared_job_groups_can_browse(request.user))
    return render(
        request,
        "exchange/shared_job_groups.html",
        {"groups": shared_jobs.shared_job_groups(), "min_fte": shared_jobs.MIN_TOTAL_FTE},
    )
