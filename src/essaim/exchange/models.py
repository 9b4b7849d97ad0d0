"""Offers and needs published by structures ("Offres & besoins")."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from essaim.actors.models import Status, Structure, Theme


class Direction(models.TextChoices):
    OFFER = "offer", "Offre"
    NEED = "need", "Besoin"


class Kind(models.TextChoices):
    EQUIPMENT = "equipment", "Équipement ou matériel"
    PREMISES = "premises", "Local ou espace"
    SKILL = "skill", "Compétence"
    SERVICE = "service", "Service"
    PRODUCT = "product", "Produit"
    SHARED_JOB = "shared_job", "Emploi partagé"
    GROUP_PURCHASE = "group_purchase", "Achat groupé"
    VOLUNTEERING = "volunteering", "Bénévolat"


class Terms(models.TextChoices):
    FREE = "free", "Gratuit"
    LOAN = "loan", "Prêt"
    EXCHANGE = "exchange", "Échange"
    PAID = "paid", "Payant"


class ListingStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    PUBLISHED = "published", "Publiée"
    FULFILLED = "fulfilled", "Satisfaite"
    WITHDRAWN = "withdrawn", "Retirée"
    EXPIRED = "expired", "Expirée"


# Allowed status changes (from -> to).
LISTING_TRANSITIONS: dict[str, frozenset[str]] = {
    ListingStatus.DRAFT: frozenset({ListingStatus.PUBLISHED, ListingStatus.WITHDRAWN}),
    ListingStatus.PUBLISHED: frozenset(
        {ListingStatus.FULFILLED, ListingStatus.WITHDRAWN, ListingStatus.EXPIRED}
    ),
    ListingStatus.FULFILLED: frozenset(),
    ListingStatus.WITHDRAWN: frozenset(),
    ListingStatus.EXPIRED: frozenset(),
}


def one_of(field: str, values) -> Q:
    condition = Q()
    for value in values:
        condition |= Q(**{field: value})
    return condition


class ListingQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=ListingStatus.PUBLISHED)

    def listed(self, now=None):
        """Published, not past their expiry date (the daily task marks those expired), of a published
        structure (an unpublished card's listings stay hidden with it)."""
        now = now or timezone.now()
        return self.published().filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now), structure__status=Status.PUBLISHED
        )

    def of_structure(self, structure):
        return self.filter(structure=structure)

    def search(self, text: str):
        """Accent- and case-insensitive match of every word of ``text`` in the title."""
        from essaim.core.text import normalize

        qs = self
        for word in normalize(text).split():
            qs = qs.filter(search_title__contains=word)
        return qs


class Listing(models.Model):
    """An offer or a need of one structure."""

    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="listings"
    )
    direction = models.CharField("sens", max_length=10, choices=Direction.choices)
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    title = models.CharField("titre", max_length=200)
    # Normalised title, kept by the services for accent-insensitive search on both databases.
    search_title = models.CharField("titre normalisé", max_length=200, editable=False, blank=True)
    description = models.TextField("description", blank=True)
    themes = models.ManyToManyField(Theme, verbose_name="thématiques", blank=True, related_name="listings")
    quantity = models.DecimalField("quantité", max_digits=10, decimal_places=2, null=True, blank=True)
    unit = models.CharField("unité", max_length=50, blank=True)
    available_from = models.DateField("disponible à partir du", null=True, blank=True)
    available_until = models.DateField("disponible jusqu'au", null=True, blank=True)
    terms = models.CharField("conditions", max_length=10, choices=Terms.choices, default=Terms.FREE)
    price_cents = models.PositiveIntegerField("prix (centimes)", null=True, blank=True)
    radius_km = models.PositiveIntegerField("rayon (km)", default=30)
    status = models.CharField(
        "état", max_length=10, choices=ListingStatus.choices, default=ListingStatus.DRAFT
    )
    published_at = models.DateTimeField("publiée le", null=True, blank=True)
    expires_at = models.DateTimeField("expire le", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="créée par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        verbose_name = "offre ou besoin"
        verbose_name_plural = "offres et besoins"
        ordering = ["-published_at", "-pk"]
        indexes = [models.Index(fields=["status", "expires_at"], name="exchange_listing_status")]
        constraints = [
            models.CheckConstraint(
                condition=one_of("direction", Direction.values),
                name="exchange_listing_direction_valid",
                violation_error_message="Sens inconnu.",
            ),
            models.CheckConstraint(
                condition=one_of("kind", Kind.values),
                name="exchange_listing_kind_valid",
                violation_error_message="Type d'annonce inconnu.",
            ),
            models.CheckConstraint(
                condition=one_of("terms", Terms.values),
                name="exchange_listing_terms_valid",
                violation_error_message="Conditions inconnues.",
            ),
            models.CheckConstraint(
                condition=one_of("status", ListingStatus.values),
                name="exchange_listing_status_valid",
                violation_error_message="État inconnu.",
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gte=models.F("available_from")),
                name="exchange_listing_window_ordered",
                violation_error_message="La date de fin de disponibilité précède la date de début.",
            ),
            models.CheckConstraint(
                condition=Q(price_cents__isnull=True) | Q(terms=Terms.PAID),
                name="exchange_listing_price_only_when_paid",
                violation_error_message="Un prix n'est possible que pour une annonce payante.",
            ),
            models.CheckConstraint(
                condition=Q(radius_km__lte=1000),
                name="exchange_listing_radius_bounded",
                violation_error_message="Le rayon ne peut dépasser 1 000 km.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} — {self.title}"

    @property
    def price_euros(self) -> str:
        if self.price_cents is None:
            return ""
        return f"{self.price_cents / 100:.2f} €".replace(".", ",")
