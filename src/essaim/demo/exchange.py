"""Demo offers and needs drawn from the seeds' needs: shared premises and a coworking space, a shared
accountant (three structures at 0.3 ETP each), a group purchase of organic food (joined by three structures),
lending a minibus (Totocar), sound equipment.

The wording is the demo's (the seeds name the needs, not these listings). Loading twice changes nothing: a
listing is found by its structure and title; a structure absent from the demo data is skipped.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from essaim.actors.models import Structure, Theme
from essaim.demo.contacts import demo_contacts_load
from essaim.exchange import services
from essaim.exchange.group_purchases import ProductInput, group_purchase_configure, group_purchase_join
from essaim.exchange.models import GroupPurchase, Listing
from essaim.exchange.shared_jobs import shared_job_set

LISTINGS = [
    {
        "structure": "le-periscope",
        "direction": "offer",
        "kind": "premises",
        "title": "Espace de coworking et salle de réunion à partager",
        "description": "Des postes de travail et une salle de réunion de 20 places pour l'ESS.",
        "terms": "exchange",
        "radius_km": 40,
        "themes": ["economie-circulaire-reemploi"],
    },
    {
        "structure": "la-rafistolerie",
        "direction": "need",
        "kind": "premises",
        "title": "Salle pour nos ateliers de réparation",
        "description": "Une salle de réunion ou un local, une soirée par mois, pour réparer ensemble.",
        "terms": "free",
        "radius_km": 30,
        "themes": ["economie-circulaire-reemploi"],
    },
    {
        "structure": "totocar",
        "direction": "offer",
        "kind": "equipment",
        "title": "Prêt d'un minibus",
        "description": "Un minibus de 9 places prêté aux associations pour leurs sorties et transports.",
        "terms": "loan",
        "radius_km": 50,
        "themes": ["mobilite"],
    },
    {
        "structure": "ozon",
        "direction": "need",
        "kind": "shared_job",
        "title": "Comptable à temps partagé",
        "description": "Environ 0,3 équivalent temps plein de comptabilité, à partager entre structures.",
        "quantity": "0.3",
        "unit": "ETP",
        "terms": "paid",
        "radius_km": 30,
        "themes": ["emploi-formation"],
    },
    {
        "structure": "jades",
        "direction": "need",
        "kind": "shared_job",
        "title": "Comptable à temps partagé",
        "description": "Une journée et demie par semaine de comptabilité, dans un groupement d'employeurs.",
        "quantity": "0.3",
        "unit": "ETP",
        "terms": "paid",
        "radius_km": 30,
        "themes": ["emploi-formation"],
    },
    {
        "structure": "les-locaux-moteurs",
        "direction": "need",
        "kind": "shared_job",
        "title": "Comptable à temps partagé",
        "description": "Un tiers de temps de comptabilité pour nos projets, à mutualiser avec les voisins.",
        "quantity": "0.3",
        "unit": "ETP",
        "terms": "paid",
        "radius_km": 30,
        "themes": ["emploi-formation"],
    },
    {
        "structure": "la-mijoteuse",
        "direction": "need",
        "kind": "group_purchase",
        "title": "Groupement d'achat de paniers bio",
        "description": "Achat groupé de paniers de légumes bio et locaux, livrés chaque semaine.",
        "quantity": "30",
        "unit": "paniers par semaine",
        "terms": "paid",
        "radius_km": 60,
        "themes": ["alimentation-circuits-courts"],
    },
    {
        "structure": "le-tracteur-savant",
        "direction": "need",
        "kind": "equipment",
        "title": "Matériel de sonorisation pour un festival",
        "description": "Une sonorisation et des éclairages pour un week-end de festival en plein air.",
        "terms": "loan",
        "radius_km": 40,
        "themes": ["culture"],
    },
]


def demo_exchange_load() -> dict[str, int]:
    """Create and publish the demo listings (idempotent). Returns how many were created and left unchanged."""
    summary = {"created": 0, "unchanged": 0}
    today = timezone.localdate()
    for item in LISTINGS:
        structure = Structure.objects.filter(slug=item["structure"]).first()
        if structure is None:
            continue
        if Listing.objects.filter(structure=structure, title=item["title"]).exists():
            summary["unchanged"] += 1
            continue
        fields = {k: v for k, v in item.items() if k not in ("structure", "themes")}
        listing = services.listing_create(
            structure=structure,
            actor=None,
            themes=Theme.objects.filter(slug__in=item["themes"]),
            available_from=today,
            available_until=today + datetime.timedelta(days=180),
            **fields,
        )
        services.listing_publish(listing=listing, actor=None)
        summary["created"] += 1
    demo_groups_load()
    demo_contacts_load()
    return summary


# The shared accountant (three structures of Septfonds at 0.3 ETP each) and the organic baskets of Colomiers,
# joined by three structures of the town.
SHARED_JOB_TITLE = "Comptable"
GROUP_PURCHASE = {
    "structure": "la-mijoteuse",
    "title": "Groupement d'achat de paniers bio",
    "products": [
        ("Panier de légumes bio", "panier", 1500),
        ("Panier de fruits bio", "panier", 1200),
        ("Œufs bio", "boîte de 6", 240),
    ],
    "participants": {
        "mtcoop": [4, 2, 3],
        "chrysalide": [10, 6, None],
        "ymca-colomiers": [8, 8, 5],
    },
}


def demo_groups_load() -> None:
    """The shared accountant's job and share of a post, and the group purchase with its participations;
    what already exists is left as it is."""
    for item in LISTINGS:
        if item["kind"] != "shared_job":
            continue
        listing = Listing.objects.filter(
            structure__slug=item["structure"], title=item["title"], shared_job__isnull=True
        ).first()
        if listing is not None:
            fte = Decimal(listing.quantity if listing.quantity is not None else item["quantity"])
            shared_job_set(listing=listing, actor=None, job_title=SHARED_JOB_TITLE, fte=fte)
    listing = Listing.objects.filter(
        structure__slug=GROUP_PURCHASE["structure"], title=GROUP_PURCHASE["title"]
    ).first()
    if listing is None or GroupPurchase.objects.filter(listing=listing).exists():
        return
    purchase = group_purchase_configure(
        listing=listing,
        actor=None,
        deadline=timezone.now() + datetime.timedelta(days=30),
        products=[
            ProductInput(label=label, unit=unit, unit_price_cents=price)
            for label, unit, price in GROUP_PURCHASE["products"]
        ],
    )
    products = list(purchase.products.all())
    for slug, quantities in GROUP_PURCHASE["participants"].items():
        structure = Structure.objects.filter(slug=slug).first()
        if structure is None:
            continue
        group_purchase_join(
            purchase=purchase,
            structure=structure,
            actor=None,
            quantities={
                product.pk: None if quantity is None else Decimal(quantity)
                for product, quantity in zip(products, quantities, strict=True)
            },
        )
