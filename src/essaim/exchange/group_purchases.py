"""Group purchases ("achats groupés"): the order sheet of a group-purchase need.

The initiator (a member of the listing's structure, or a facilitator) sets the products and a deadline; other
structures join with their quantities, change or withdraw them until the deadline; the initiator sees the
aggregated order and exports it. Closing (by the initiator, or by the periodic task at the deadline)
freezes everything: every write below refuses a closed purchase, and a purchase past its deadline counts as
closed even before the task has run.
"""

import csv
import datetime
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from openpyxl import Workbook

from essaim.actors.exports import neutralize_formula
from essaim.actors.models import Structure
from essaim.core.audit import log_action
from essaim.exchange.models import (
    Direction,
    GroupPurchase,
    GroupPurchaseLine,
    GroupPurchaseParticipation,
    GroupPurchaseProduct,
    GroupPurchaseStatus,
    Kind,
    Listing,
    ListingStatus,
    format_euros,
)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PRODUCTS = 50
CLOSED_MESSAGE = "Cet achat groupé est clos : les participations ne peuvent plus être modifiées."


@dataclass(frozen=True)
class ProductInput:
    """A product as the initiator types it; ``pk`` names an existing product to keep (else a new one)."""

    label: str
    unit: str
    unit_price_cents: int | None = None
    pk: int | None = None


def _is_user(actor) -> bool:
    return bool(actor is not None and getattr(actor, "is_authenticated", False))


def _check_listing(listing: Listing) -> None:
    if listing.kind != Kind.GROUP_PURCHASE or listing.direction != Direction.NEED:
        raise ValidationError("Seul un besoin de type « achat groupé » peut recevoir des participations.")


def _locked(purchase: GroupPurchase) -> GroupPurchase:
    return GroupPurchase.objects.select_for_update().select_related("listing").get(pk=purchase.pk)


def _require_open(purchase: GroupPurchase, now: datetime.datetime) -> None:
    if not purchase.is_open(now):
        raise ValidationError(CLOSED_MESSAGE)


@transaction.atomic
def group_purchase_configure(
    *,
    listing: Listing,
    actor,
    deadline: datetime.datetime,
    products: Iterable[ProductInput],
    now: datetime.datetime | None = None,
) -> GroupPurchase:
    """Create or update the order sheet of a group-purchase need: its deadline and its products.

    Products are kept by ``pk``, added without one, removed when left out. Raises ValidationError (French
    messages) when the listing is not a group-purchase need, the purchase is closed, the deadline is past,
    there is no product, a product is listed twice, or a product to remove has already been ordered.
    """
    now = now or timezone.now()
    _check_listing(listing)
    products = list(products)
    if deadline <= now:
        raise ValidationError({"deadline": "La date limite doit être dans le futur."})
    if not products:
        raise ValidationError("Indiquez au moins un produit.")
    if len(products) > MAX_PRODUCTS:
        raise ValidationError(f"Un achat groupé compte au plus {MAX_PRODUCTS} produits.")
    keys = [(p.label.strip().lower(), p.unit.strip().lower()) for p in products]
    if len(set(keys)) != len(keys):
        raise ValidationError("Un même produit (avec la même unité) figure deux fois.")
    # Lock the listing first: two first configurations at once wait for each other instead of one failing on
    # the one-to-one constraint, and a listing closed meanwhile is seen closed.
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status not in (ListingStatus.DRAFT, ListingStatus.PUBLISHED):
        raise ValidationError("Cette annonce est close : son achat groupé ne peut plus être modifié.")
    purchase = GroupPurchase.objects.select_for_update().filter(listing=listing).first()
    created = purchase is None
    if created:
        purchase = GroupPurchase(listing=listing, deadline=deadline)
    else:
        _require_open(purchase, now)
        purchase.deadline = deadline
    purchase.full_clean(exclude=["listing"])
    purchase.save()

    existing = {product.pk: product for product in purchase.products.all()}
    kept = {p.pk for p in products if p.pk is not None}
    unknown = kept - set(existing)
    if unknown:
        raise ValidationError("Produit inconnu dans cet achat groupé.")
    removed = [product for pk, product in existing.items() if pk not in kept]
    if any(product.lines.exists() for product in removed):
        raise ValidationError("Un produit déjà commandé par une structure ne peut pas être retiré.")
    for product in removed:
        product.delete()
    to_save = []
    for position, item in enumerate(products):
        product = existing.get(item.pk) or GroupPurchaseProduct(purchase=purchase)
        product.label = item.label.strip()
        product.unit = item.unit.strip()
        product.unit_price_cents = item.unit_price_cents
        product.position = position
        product.full_clean(exclude=["purchase"], validate_unique=False, validate_constraints=False)
        to_save.append(product)
    # Renames may swap labels between kept products: give them a temporary label first so that the unique
    # constraint holds at every step.
    for product in to_save:
        if product.pk is not None:
            GroupPurchaseProduct.objects.filter(pk=product.pk).update(label=f"~{product.pk}")
    for product in to_save:
        product.save()
    log_action(
        actor=actor,
        verb="exchange.group_purchase.created" if created else "exchange.group_purchase.updated",
        obj=purchase,
        data={
            "listing": listing.pk,
            "deadline": deadline.isoformat(),
            "products": [p.label for p in products],
            "removed": [p.label for p in removed],
        },
    )
    return purchase


def _clean_quantities(
    purchase: GroupPurchase, quantities: Mapping[int, Decimal | None]
) -> dict[GroupPurchaseProduct, Decimal]:
    products = {product.pk: product for product in purchase.products.all()}
    lines = {}
    for pk, quantity in quantities.items():
        if pk not in products:
            raise ValidationError("Produit inconnu dans cet achat groupé.")
        if quantity is None or quantity == 0:
            continue  # Left empty or zero: this structure does not order this product.
        if quantity < 0:
            raise ValidationError(f"« {products[pk].label} » : la quantité doit être positive.")
        try:
            # Digits and decimal places as the column holds them (no silent rounding by the database).
            quantity = GroupPurchaseLine._meta.get_field("quantity").clean(Decimal(quantity), None)
        except ValidationError as exc:
            raise ValidationError(f"« {products[pk].label} » : {' '.join(exc.messages)}") from exc
        lines[products[pk]] = quantity
    if not lines:
        raise ValidationError("Indiquez une quantité pour au moins un produit.")
    return lines


@transaction.atomic
def group_purchase_join(
    *,
    purchase: GroupPurchase,
    structure: Structure,
    actor,
    quantities: Mapping[int, Decimal | None],
    now: datetime.datetime | None = None,
) -> GroupPurchaseParticipation:
    """Join ``purchase`` for ``structure`` with ``quantities`` (product pk -> quantity), or replace the
    quantities of its participation. Empty or zero quantities are left out.

    Raises ValidationError when the purchase is closed or past its deadline, its listing is not published,
    a quantity is negative or none is given.
    """
    now = now or timezone.now()
    purchase = _locked(purchase)
    _require_open(purchase, now)
    if purchase.listing.status != ListingStatus.PUBLISHED:
        raise ValidationError("Cet achat groupé n'est pas publié.")
    lines = _clean_quantities(purchase, quantities)
    participation = GroupPurchaseParticipation.objects.filter(purchase=purchase, structure=structure).first()
    created = participation is None
    if created:
        participation = GroupPurchaseParticipation.objects.create(
            purchase=purchase, structure=structure, created_by=actor if _is_user(actor) else None
        )
    else:
        participation.lines.all().delete()
        participation.save(update_fields=["updated_at"])
    GroupPurchaseLine.objects.bulk_create(
        [
            GroupPurchaseLine(participation=participation, product=product, quantity=quantity)
            for product, quantity in lines.items()
        ]
    )
    log_action(
        actor=actor,
        verb="exchange.group_purchase.joined" if created else "exchange.group_purchase.changed",
        obj=purchase,
        data={
            "structure": structure.pk,
            "quantities": {str(product.pk): str(quantity) for product, quantity in lines.items()},
        },
    )
    return participation


@transaction.atomic
def group_purchase_withdraw(
    *, purchase: GroupPurchase, structure: Structure, actor, now: datetime.datetime | None = None
) -> None:
    """Withdraw the participation of ``structure``. Raises ValidationError when the purchase is closed or
    the structure does not take part."""
    now = now or timezone.now()
    purchase = _locked(purchase)
    _require_open(purchase, now)
    deleted, _ = GroupPurchaseParticipation.objects.filter(purchase=purchase, structure=structure).delete()
    if not deleted:
        raise ValidationError("Cette structure ne participe pas à cet achat groupé.")
    log_action(
        actor=actor, verb="exchange.group_purchase.withdrawn", obj=purchase, data={"structure": structure.pk}
    )


@transaction.atomic
def group_purchase_close(
    *, purchase: GroupPurchase, actor, now: datetime.datetime | None = None
) -> GroupPurchase:
    """Close the purchase now (the initiator's decision). Raises ValidationError if it is already closed."""
    now = now or timezone.now()
    purchase = _locked(purchase)
    if purchase.status == GroupPurchaseStatus.CLOSED:
        raise ValidationError("Cet achat groupé est déjà clos.")
    purchase.status = GroupPurchaseStatus.CLOSED
    purchase.closed_at = now
    purchase.save(update_fields=["status", "closed_at", "updated_at"])
    log_action(actor=actor, verb="exchange.group_purchase.closed", obj=purchase, data={"by": "initiator"})
    return purchase


@transaction.atomic
def group_purchases_close_due(*, now: datetime.datetime | None = None) -> int:
    """Close every open purchase whose deadline has passed; returns how many."""
    now = now or timezone.now()
    ids = list(GroupPurchase.objects.due(now).select_for_update().values_list("pk", flat=True))
    if not ids:
        return 0
    GroupPurchase.objects.filter(pk__in=ids).update(
        status=GroupPurchaseStatus.CLOSED, closed_at=now, updated_at=now
    )
    log_action(actor=None, verb="exchange.group_purchases.closed", data={"count": len(ids), "ids": ids[:100]})
    return len(ids)


# --- Reading the order


def euros_label(cents: int | None) -> str:
    """ "1 234,50 €" (non-breaking spaces as French typography wants), "" for no amount."""
    return format_euros(cents)


@dataclass
class ProductTotal:
    product: GroupPurchaseProduct
    quantity: Decimal
    structures: int

    @property
    def amount_cents(self) -> int | None:
        if self.product.unit_price_cents is None:
            return None
        return round(self.quantity * self.product.unit_price_cents)

    @property
    def amount_euros(self) -> str:
        return euros_label(self.amount_cents)


@dataclass
class StructureOrder:
    participation: GroupPurchaseParticipation
    # One entry per product of the purchase, in order; None where the structure orders none of it.
    quantities: list[Decimal | None] = field(default_factory=list)
    amount_cents: int | None = None

    @property
    def amount_euros(self) -> str:
        return euros_label(self.amount_cents)


@dataclass
class Order:
    purchase: GroupPurchase
    products: list[ProductTotal]
    structures: list[StructureOrder]

    @property
    def structures_count(self) -> int:
        return len(self.structures)

    @property
    def amount_cents(self) -> int | None:
        amounts = [total.amount_cents for total in self.products if total.amount_cents is not None]
        return sum(amounts) if amounts else None

    @property
    def amount_euros(self) -> str:
        return euros_label(self.amount_cents)


def group_purchase_totals(purchase: GroupPurchase) -> list[ProductTotal]:
    """Per product, in order: total quantity and number of structures ordering it (the public figures)."""
    sums = {
        row["product"]: row
        for row in GroupPurchaseLine.objects.filter(product__purchase=purchase)
        .values("product")
        .annotate(total=Sum("quantity"), structures=Count("participation__structure", distinct=True))
    }
    return [
        ProductTotal(
            product=product,
            quantity=Decimal(sums[product.pk]["total"]) if product.pk in sums else Decimal(0),
            structures=sums[product.pk]["structures"] if product.pk in sums else 0,
        )
        for product in purchase.products.all()
    ]


def group_purchase_order(purchase: GroupPurchase) -> Order:
    """The aggregated order: per product (as ``group_purchase_totals``) and per structure (by name)."""
    totals = group_purchase_totals(purchase)
    products = [total.product for total in totals]
    participations = (
        purchase.participations.select_related("structure")
        .prefetch_related("lines")
        .order_by("structure__name")
    )
    structures = []
    for participation in participations:
        by_product = {line.product_id: line.quantity for line in participation.lines.all()}
        quantities = [by_product.get(product.pk) for product in products]
        amounts = [
            quantity * product.unit_price_cents
            for product, quantity in zip(products, quantities, strict=True)
            if quantity is not None and product.unit_price_cents is not None
        ]
        structures.append(
            StructureOrder(
                participation=participation,
                quantities=quantities,
                amount_cents=round(sum(amounts)) if amounts else None,
            )
        )
    return Order(purchase=purchase, products=totals, structures=structures)


# --- Exports


def _euros(cents: int | None) -> Decimal | None:
    return None if cents is None else Decimal(cents) / 100


def order_rows(order: Order) -> tuple[list[list], list[list]]:
    """The two tables of the export: per product, and per structure and product (numbers as Decimals)."""
    per_product = [["Produit", "Unité", "Prix unitaire (€)", "Quantité totale", "Structures", "Montant (€)"]]
    for total in order.products:
        per_product.append(
            [
                total.product.label,
                total.product.unit,
                _euros(total.product.unit_price_cents),
                total.quantity,
                total.structures,
                _euros(total.amount_cents),
            ]
        )
    per_structure = [["Structure", "SIREN", "Courriel", "Produit", "Unité", "Quantité", "Montant (€)"]]
    for entry in order.structures:
        structure = entry.participation.structure
        for total, quantity in zip(order.products, entry.quantities, strict=True):
            if quantity is None:
                continue
            price = total.product.unit_price_cents
            per_structure.append(
                [
                    structure.name,
                    structure.siren,
                    structure.email,
                    total.product.label,
                    total.product.unit,
                    quantity,
                    None if price is None else _euros(round(quantity * price)),
                ]
            )
    return per_product, per_structure


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, Decimal):
        # French spreadsheets read "12,5" as a number in a ";" file.
        return format(value.normalize(), "f").replace(".", ",")
    return neutralize_formula(value)


def order_csv(order: Order) -> bytes:
    """UTF-8 with a byte order mark, ";"-separated: the per-product table, an empty line, then the
    per-structure table."""
    per_product, per_structure = order_rows(order)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in per_product:
        writer.writerow([_csv_cell(value) for value in row])
    writer.writerow([])
    for row in per_structure:
        writer.writerow([_csv_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_cell(value):
    if isinstance(value, Decimal):
        return float(value)
    return neutralize_formula(value)


def order_xlsx(order: Order) -> bytes:
    """Two sheets: "Par produit" and "Par structure"."""
    per_product, per_structure = order_rows(order)
    workbook = Workbook()
    for index, (title, rows) in enumerate((("Par produit", per_product), ("Par structure", per_structure))):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        sheet.title = title
        for row in rows:
            sheet.append([_xlsx_cell(value) for value in row])
        sheet.column_dimensions["A"].width = 40
        sheet.column_dimensions["C"].width = 30
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
