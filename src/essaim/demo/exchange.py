"""Demo offers and needs drawn from the seeds' needs: shared premises and a coworking space, a shared
accountant, a group purchase of organic food, lending a minibus (Totocar), sound equipment.

The wording is the demo's (the seeds name the needs, not these listings). Loading twice changes nothing: a
listing is found by its structure and title; a structure absent from the demo data is skipped.
"""

import datetime

from django.utils import timezone

from essaim.actors.models import Structure, Theme
from essaim.exchange import services
from essaim.exchange.models import Listing

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
        "description": "Une journée par semaine de comptabilité, dans un groupement d'employeurs.",
        "quantity": "0.2",
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
    return summary
