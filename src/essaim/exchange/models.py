"""Offers and needs published by structures ("Offres & besoins")."""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import formats, timezone

from essaim.actors.models import Structure, Theme
from essaim.territories.models import Commune, PerimeterCommune


def format_euros(cents: int | None) -> str:
    """An amount in cents as French typography writes it: « 12 000 € », « 1 234,50 € » (non-breaking
    spaces, digits grouped by the French locale settings); "" for no amount."""
    if cents is None:
        return ""
    decimals = 0 if cents % 100 == 0 else 2
    number = formats.number_format(cents / 100, decimal_pos=decimals, use_l10n=True, force_grouping=True)
    return f"{number}\u00a0€"


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
        structure (an unpublished card's listings stay hidden with it), not hidden by a facilitator."""
        now = now or timezone.now()
        return self.published().filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now),
            structure_published=True,  # a copy of structure__status=published (see the field)
            hidden_at__isnull=True,  # hidden by a facilitator (exchange.moderation)
        )

    def in_perimeter(self, perimeter):
        """Listings of structures whose commune is in ``perimeter`` (through the listings' copy of it)."""
        return self.filter(
            commune_id__in=PerimeterCommune.objects.filter(perimeter=perimeter).values("commune_id")
        )

    def with_any_theme(self, theme_ids):
        """Listings with at least one of ``theme_ids`` (each listed once)."""
        through = Listing.themes.through.objects.filter(listing_id=OuterRef("pk"), theme_id__in=theme_ids)
        return self.filter(Exists(through))

    def of_structure(self, structure):
        return self.filter(structure=structure)

    def search(self, text: str, *, rank: bool = True):
        """Full-text match of ``text`` (title, description, themes; stemmed, accent- and case-insensitive,
        synonyms included), ordered by relevance when ``rank``. See ``exchange.search``."""
        from essaim.exchange.search import listing_text_search

        return listing_text_search(self, text, rank=rank)


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
    # When the poster was told the listing would soon expire; reset when extended (one reminder each time).
    expiry_reminded_at = models.DateTimeField("rappel d'expiration envoyé le", null=True, blank=True)
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
    # Search and matching (see ``exchange.search``), written by the services: the full-text document
    # (title, description, themes) in the form the database's engine indexes, and the structure's point
    # when the listing was last saved (a bounding-box prefilter for the suggestions).
    search_document = models.TextField("document de recherche", blank=True, default="", editable=False)
    latitude = models.FloatField("latitude", null=True, blank=True, editable=False)
    longitude = models.FloatField("longitude", null=True, blank=True, editable=False)
    # Copies of « its structure is published » and of its structure's commune, kept with the point
    # (``listings_locate``): the public lists and the search filter on them without joining a million cards.
    structure_published = models.BooleanField("structure publiée", default=False, editable=False)
    commune = models.ForeignKey(
        Commune,
        verbose_name="commune de la structure",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # Moderation (see ``exchange.moderation``): a hidden listing leaves the public pages whatever its
    # status; its structure's members still see it, and statistics still count it.
    hidden_at = models.DateTimeField("masquée le", null=True, blank=True, editable=False)
    hidden_reason = models.TextField("motif du masquage", blank=True, editable=False)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="masquée par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = ListingQuerySet.as_manager()

    class Meta:
        verbose_name = "offre ou besoin"
        verbose_name_plural = "offres et besoins"
        ordering = ["-published_at", "-pk"]
        indexes = [
            # Expiry date first: the daily expiry and reminders read a range of dates, and the public lists'
            # "status = published" (most listings) is better served by the list's order (SQLite, without
            # statistics, would otherwise walk this index over every listed listing, then sort them).
            models.Index(fields=["expires_at", "status"], name="exchange_listing_expiry"),
            models.Index(fields=["kind", "direction", "latitude"], name="exchange_listing_match"),
            # The public list's order, newest published first; also within one kind (its most used filter).
            models.Index(fields=["published_at", "id"], name="exchange_listing_newest"),
            models.Index(fields=["kind", "published_at", "id"], name="exchange_listing_kind_newest"),
        ]
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
        return format_euros(self.price_cents)


# -- synonyms (search and matching) ---------------------------------------------------------------------


class SynonymGroup(models.Model):
    """Words that mean the same thing in offers and needs ("local, salle, bureau, espace"), edited by the
    facilitators; used to expand searches and to match listings (see ``exchange.search``)."""

    words = models.CharField(
        "mots",
        max_length=500,
        help_text="Des mots séparés par des virgules, par exemple : local, salle, bureau.",
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "groupe de synonymes"
        verbose_name_plural = "groupes de synonymes"
        ordering = ["words", "pk"]

    def __str__(self) -> str:
        return self.words

    @property
    def word_list(self) -> list[str]:
        return [word.strip() for word in self.words.split(",") if word.strip()]


# --- Group purchases and shared jobs (see group_purchases.py and shared_jobs.py) ----------------------------


class GroupPurchaseStatus(models.TextChoices):
    OPEN = "open", "Ouvert"
    CLOSED = "closed", "Clos"


class GroupPurchaseQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=GroupPurchaseStatus.OPEN)

    def due(self, now):
        """Still open although their deadline has passed (the periodic task closes them)."""
        return self.open().filter(deadline__lte=now)


class GroupPurchase(models.Model):
    """The order sheet of a group-purchase need: products, a closing deadline, the structures that join."""

    listing = models.OneToOneField(
        Listing, verbose_name="annonce", on_delete=models.CASCADE, related_name="group_purchase"
    )
    deadline = models.DateTimeField("date limite de participation")
    status = models.CharField(
        "état", max_length=10, choices=GroupPurchaseStatus.choices, default=GroupPurchaseStatus.OPEN
    )
    closed_at = models.DateTimeField("clos le", null=True, blank=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    objects = GroupPurchaseQuerySet.as_manager()

    class Meta:
        verbose_name = "achat groupé"
        verbose_name_plural = "achats groupés"
        indexes = [models.Index(fields=["status", "deadline"], name="exchange_gp_status_deadline")]
        constraints = [
            models.CheckConstraint(
                condition=one_of("status", GroupPurchaseStatus.values),
                name="exchange_gp_status_valid",
                violation_error_message="État d'achat groupé inconnu.",
            ),
            models.CheckConstraint(
                condition=Q(status=GroupPurchaseStatus.OPEN) | Q(closed_at__isnull=False),
                name="exchange_gp_closed_has_date",
                violation_error_message="Un achat groupé clos doit avoir une date de clôture.",
            ),
        ]

    def __str__(self) -> str:
        return f"Achat groupé — {self.listing.title}"

    def is_open(self, now=None) -> bool:
        """Open and before its deadline (a passed deadline closes it even before the task runs)."""
        return self.status == GroupPurchaseStatus.OPEN and self.deadline > (now or timezone.now())


class GroupPurchaseProduct(models.Model):
    purchase = models.ForeignKey(
        GroupPurchase, verbose_name="achat groupé", on_delete=models.CASCADE, related_name="products"
    )
    label = models.CharField("produit", max_length=200)
    unit = models.CharField("unité", max_length=50)
    unit_price_cents = models.PositiveIntegerField("prix unitaire (centimes)", null=True, blank=True)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "produit d'un achat groupé"
        verbose_name_plural = "produits d'un achat groupé"
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase", "label", "unit"],
                name="exchange_gp_product_unique",
                violation_error_message="Ce produit figure déjà dans l'achat groupé.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.unit})"

    @property
    def unit_price_euros(self) -> str:
        return format_euros(self.unit_price_cents)


class GroupPurchaseParticipation(models.Model):
    """One structure's share of a group purchase (one per structure), with one line per product ordered."""

    purchase = models.ForeignKey(
        GroupPurchase, verbose_name="achat groupé", on_delete=models.CASCADE, related_name="participations"
    )
    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="group_purchases"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="inscrite par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("inscrite le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    class Meta:
        verbose_name = "participation à un achat groupé"
        verbose_name_plural = "participations à un achat groupé"
        ordering = ["structure__name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase", "structure"],
                name="exchange_gp_one_participation_per_structure",
                violation_error_message="Cette structure participe déjà à cet achat groupé.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.structure} — {self.purchase}"


class GroupPurchaseLine(models.Model):
    participation = models.ForeignKey(
        GroupPurchaseParticipation,
        verbose_name="participation",
        on_delete=models.CASCADE,
        related_name="lines",
    )
    product = models.ForeignKey(
        GroupPurchaseProduct, verbose_name="produit", on_delete=models.CASCADE, related_name="lines"
    )
    quantity = models.DecimalField("quantité", max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = "ligne de commande groupée"
        verbose_name_plural = "lignes de commande groupée"
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="exchange_gp_line_quantity_positive",
                violation_error_message="La quantité doit être strictement positive.",
            ),
            models.UniqueConstraint(
                fields=["participation", "product"],
                name="exchange_gp_line_unique",
                violation_error_message="Ce produit figure déjà dans cette participation.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} : {self.quantity}"


class SharedJobProfile(models.Model):
    """The job ("métier") and the share of a full-time post (ETP) a shared-job need asks for."""

    listing = models.OneToOneField(
        Listing, verbose_name="annonce", on_delete=models.CASCADE, related_name="shared_job"
    )
    job_title = models.CharField("métier", max_length=120)
    # Sorted stemmed words of the job title, kept by the service: equal keys mean the same job.
    job_key = models.CharField("métier normalisé", max_length=200, editable=False, db_index=True)
    fte = models.DecimalField("temps de travail (ETP)", max_digits=3, decimal_places=2)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "emploi partagé"
        verbose_name_plural = "emplois partagés"
        constraints = [
            models.CheckConstraint(
                condition=Q(fte__gt=0) & Q(fte__lte=1),
                name="exchange_shared_job_fte_range",
                violation_error_message=(
                    "Le temps de travail doit être compris entre 0 et 1 ETP (1 = temps plein)."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job_title} ({self.fte} ETP)"


# --- Putting people in touch: match records, messages, outcomes (issue 4) ---------------------------------


class MatchStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggérée"
    CONTACTED = "contacted", "Contact pris"
    DISCUSSING = "discussing", "En discussion"
    AGREED = "agreed", "Accord trouvé"
    DONE = "done", "Réalisée"
    DECLINED = "declined", "Déclinée"


OPEN_MATCH_STATUSES = (
    MatchStatus.SUGGESTED,
    MatchStatus.CONTACTED,
    MatchStatus.DISCUSSING,
    MatchStatus.AGREED,
)

# Allowed status changes of a match (from -> to); declining is allowed from any open state.
MATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    MatchStatus.SUGGESTED: frozenset({MatchStatus.CONTACTED, MatchStatus.DECLINED}),
    MatchStatus.CONTACTED: frozenset({MatchStatus.DISCUSSING, MatchStatus.DECLINED}),
    MatchStatus.DISCUSSING: frozenset({MatchStatus.AGREED, MatchStatus.DECLINED}),
    MatchStatus.AGREED: frozenset({MatchStatus.DONE, MatchStatus.DECLINED}),
    MatchStatus.DONE: frozenset(),
    MatchStatus.DECLINED: frozenset(),
}


class MatchQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_MATCH_STATUSES)

    def involving(self, structure_ids):
        """Matches where one of ``structure_ids`` is either side."""
        return self.filter(
            Q(listing_structure_id__in=structure_ids) | Q(counterpart_structure_id__in=structure_ids)
        )

    def between(self, listing, structure):
        """Matches of ``listing`` with ``structure``, in either orientation (``structure``'s own listing
        matched with ``listing``'s structure counts too)."""
        return self.filter(
            Q(listing=listing, counterpart_structure=structure)
            | Q(counterpart_listing=listing, listing_structure=structure)
        )


class Match(models.Model):
    """A match record: one listing and the structure that could answer it (through its counterpart listing,
    or its card), from the suggestion to what came of it.

    ``listing_structure`` repeats ``listing.structure`` so that the database can refuse self-matches and
    permission checks need no join.
    """

    listing = models.ForeignKey(
        Listing, verbose_name="annonce", on_delete=models.CASCADE, related_name="matches"
    )
    listing_structure = models.ForeignKey(
        Structure, verbose_name="structure de l'annonce", on_delete=models.CASCADE, related_name="+"
    )
    counterpart_listing = models.ForeignKey(
        Listing,
        verbose_name="annonce correspondante",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="counterpart_matches",
    )
    counterpart_structure = models.ForeignKey(
        Structure,
        verbose_name="structure mise en relation",
        on_delete=models.CASCADE,
        related_name="exchange_matches",
    )
    status = models.CharField(
        "état", max_length=12, choices=MatchStatus.choices, default=MatchStatus.SUGGESTED
    )
    score = models.FloatField("score de la suggestion", null=True, blank=True)
    reasons = models.JSONField("raisons de la suggestion", default=list, blank=True)
    initiator_structure = models.ForeignKey(
        Structure,
        verbose_name="structure à l'initiative",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="à l'initiative de",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    broker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="mise en relation par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decline_reason = models.CharField("motif du refus", max_length=500, blank=True)
    # Set once both structures have written: from then on each side sees the other's contact email.
    revealed_at = models.DateTimeField("coordonnées révélées le", null=True, blank=True)
    # Set once the suggestion went out in the digest email (or needs not go out: created already contacted).
    digest_sent_at = models.DateTimeField("suggestion notifiée le", null=True, blank=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    objects = MatchQuerySet.as_manager()

    class Meta:
        verbose_name = "mise en relation"
        verbose_name_plural = "mises en relation"
        ordering = ["-updated_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "digest_sent_at"], name="exchange_match_digest"),
            models.Index(fields=["listing_structure", "status"], name="exchange_match_listing_side"),
            models.Index(fields=["counterpart_structure", "status"], name="exchange_match_other_side"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=one_of("status", MatchStatus.values),
                name="exchange_match_status_valid",
                violation_error_message="État de mise en relation inconnu.",
            ),
            models.CheckConstraint(
                condition=~Q(counterpart_structure=models.F("listing_structure")),
                name="exchange_match_not_self",
                violation_error_message="Une structure ne peut pas être mise en relation avec elle-même.",
            ),
            models.CheckConstraint(
                condition=Q(counterpart_listing__isnull=True) | ~Q(counterpart_listing=models.F("listing")),
                name="exchange_match_not_same_listing",
                violation_error_message="Une annonce ne peut pas être mise en relation avec elle-même.",
            ),
            models.CheckConstraint(
                condition=~Q(status=MatchStatus.DECLINED) | ~Q(decline_reason=""),
                name="exchange_match_decline_has_reason",
                violation_error_message="Indiquez le motif du refus.",
            ),
            models.UniqueConstraint(
                fields=["listing", "counterpart_structure"],
                condition=one_of("status", OPEN_MATCH_STATUSES),
                name="exchange_match_one_open_per_pair",
                violation_error_message="Une mise en relation est déjà en cours entre cette annonce et "
                "cette structure.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing.title} ↔ {self.counterpart_structure.name}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_MATCH_STATUSES

    def structure_ids(self) -> set[int]:
        return {self.listing_structure_id, self.counterpart_structure_id}


class ContactMessage(models.Model):
    """A plain-text message written in a match's conversation (by a member of either side, or the broker)."""

    match = models.ForeignKey(
        Match, verbose_name="mise en relation", on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur·rice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The side the author wrote for; empty for a facilitator's introduction.
    author_structure = models.ForeignKey(
        Structure,
        verbose_name="au nom de",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField("message")
    created_at = models.DateTimeField("écrit le", default=timezone.now)

    class Meta:
        verbose_name = "message de mise en relation"
        verbose_name_plural = "messages de mise en relation"
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(body=""),
                name="exchange_contactmessage_body_not_empty",
                violation_error_message="Le message est vide.",
            ),
        ]

    def __str__(self) -> str:
        return f"Message du {self.created_at:%d/%m/%Y} ({self.match_id})"


class MatchDigestOptOut(models.Model):
    """A person who asked not to receive the emails of new suggestions (accounts has no preferences)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name="personne", on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField("depuis le", auto_now_add=True)

    class Meta:
        verbose_name = "refus des suggestions par courriel"
        verbose_name_plural = "refus des suggestions par courriel"

    def __str__(self) -> str:
        return str(self.user)


class OutcomeKind(models.TextChoices):
    COOPERATION = "cooperation", "Une coopération"
    PURCHASE = "purchase", "Un achat"
    SHARED_JOB = "shared_job", "Un emploi partagé"
    LOAN_GIFT = "loan_gift", "Un prêt ou un don"
    NOTHING = "nothing", "Rien"


class Outcome(models.Model):
    """What came of a closed listing, told by its poster; feeds the statistics of the territory."""

    listing = models.OneToOneField(
        Listing, verbose_name="annonce", on_delete=models.CASCADE, related_name="outcome"
    )
    kind = models.CharField("résultat", max_length=12, choices=OutcomeKind.choices)
    amount_euros = models.PositiveIntegerField("montant estimé (€)", null=True, blank=True)
    hours = models.PositiveIntegerField("heures estimées", null=True, blank=True)
    counterpart_structure = models.ForeignKey(
        Structure,
        verbose_name="structure partenaire",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="renseigné par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField("renseigné le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "résultat d'une annonce"
        verbose_name_plural = "résultats des annonces"
        constraints = [
            models.CheckConstraint(
                condition=one_of("kind", OutcomeKind.values),
                name="exchange_outcome_kind_valid",
                violation_error_message="Résultat inconnu.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=OutcomeKind.NOTHING)
                | (Q(amount_euros__isnull=True) & Q(hours__isnull=True)),
                name="exchange_outcome_nothing_has_no_figures",
                violation_error_message="Sans résultat, ni montant ni heures ne peuvent être indiqués.",
            ),
            models.CheckConstraint(
                condition=(Q(amount_euros__isnull=True) | Q(amount_euros__lte=100_000_000))
                & (Q(hours__isnull=True) | Q(hours__lte=1_000_000)),
                name="exchange_outcome_figures_bounded",
                violation_error_message="Montant ou nombre d'heures invraisemblable.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.listing.title} : {self.get_kind_display().lower()}"


# -- Alerts (saved searches) and abuse reports: see ``exchange.alerts`` and ``exchange.moderation`` ----------


class AlertFrequency(models.TextChoices):
    DAILY = "daily", "Chaque jour"
    WEEKLY = "weekly", "Chaque semaine"


class AlertQuerySet(models.QuerySet):
    def of_user(self, user):
        return self.filter(user=user)

    def emailed(self):
        """Alerts still sent by email (not unsubscribed)."""
        return self.filter(email_enabled=True)


class Alert(models.Model):
    """A saved search of one person: new matching listings are emailed daily or weekly, and shown in an RSS
    feed. Empty criteria match everything; the place is a commune or a structure, with a radius."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="personne", on_delete=models.CASCADE, related_name="alerts"
    )
    direction = models.CharField("sens", max_length=10, choices=Direction.choices, blank=True)
    kind = models.CharField("type", max_length=20, choices=Kind.choices, blank=True)
    themes = models.ManyToManyField(Theme, verbose_name="thématiques", blank=True, related_name="+")
    text = models.CharField("mots recherchés", max_length=100, blank=True)
    commune = models.ForeignKey(
        "territories.Commune",
        verbose_name="autour de la commune",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    structure = models.ForeignKey(
        Structure,
        verbose_name="autour de la structure",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    radius_km = models.PositiveIntegerField("rayon (km)", default=30)
    frequency = models.CharField(
        "fréquence", max_length=10, choices=AlertFrequency.choices, default=AlertFrequency.WEEKLY
    )
    email_enabled = models.BooleanField("envoi par courriel", default=True)
    # End of the last period looked at: the next email lists the listings published after it.
    last_checked_at = models.DateTimeField("dernière recherche", null=True, blank=True, editable=False)
    last_sent_at = models.DateTimeField("dernier envoi", null=True, blank=True, editable=False)
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        verbose_name = "alerte"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["email_enabled", "last_checked_at"], name="exchange_alert_due")]
        constraints = [
            models.CheckConstraint(
                condition=one_of("frequency", AlertFrequency.values),
                name="exchange_alert_frequency_valid",
                violation_error_message="Fréquence inconnue.",
            ),
            models.CheckConstraint(
                condition=Q(commune__isnull=True) | Q(structure__isnull=True),
                name="exchange_alert_one_place",
                violation_error_message="Choisissez une commune ou une structure, pas les deux.",
            ),
            models.CheckConstraint(
                condition=Q(radius_km__gte=1, radius_km__lte=1000),
                name="exchange_alert_radius_bounded",
                violation_error_message="Le rayon doit être compris entre 1 et 1 000 km.",
            ),
        ]

    def __str__(self) -> str:
        return f"Alerte {self.pk} de {self.user}"


class AlertSending(models.Model):
    """One email sent for an alert: the listings it named (at most one sending per alert and day)."""

    alert = models.ForeignKey(Alert, verbose_name="alerte", on_delete=models.CASCADE, related_name="sendings")
    sent_at = models.DateTimeField("envoyé le")
    sent_on = models.DateField("jour d'envoi")
    listing_count = models.PositiveIntegerField("annonces")
    listing_ids = models.JSONField("annonces envoyées", default=list)

    class Meta:
        verbose_name = "envoi d'alerte"
        verbose_name_plural = "envois d'alertes"
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "sent_on"],
                name="exchange_alertsending_once_a_day",
                violation_error_message="Cette alerte a déjà été envoyée aujourd'hui.",
            )
        ]

    def __str__(self) -> str:
        return f"Envoi de l'alerte {self.alert_id} le {self.sent_on}"


class ReportReason(models.TextChoices):
    SPAM = "spam", "Publicité abusive ou spam"
    FRAUD = "fraud", "Arnaque ou tentative de fraude"
    OFFENSIVE = "offensive", "Contenu injurieux, discriminatoire ou illégal"
    MISLEADING = "misleading", "Informations fausses ou trompeuses"
    OTHER = "other", "Autre raison"


class ReportStatus(models.TextChoices):
    OPEN = "open", "À traiter"
    RESOLVED = "resolved", "Traité"


class ListingReportQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=ReportStatus.OPEN)


class ListingReport(models.Model):
    """A signed-in person's report ("Signaler") of a listing, handled by the facilitators."""

    listing = models.ForeignKey(
        Listing, verbose_name="annonce", on_delete=models.CASCADE, related_name="reports"
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="signalée par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField("motif", max_length=20, choices=ReportReason.choices)
    text = models.TextField("précisions", max_length=2000, blank=True)
    status = models.CharField("état", max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    created_at = models.DateTimeField("signalée le", auto_now_add=True)
    resolved_at = models.DateTimeField("traitée le", null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="traitée par",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolution = models.TextField("suite donnée", blank=True)

    objects = ListingReportQuerySet.as_manager()

    class Meta:
        verbose_name = "signalement"
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="exchange_report_status")]
        constraints = [
            models.CheckConstraint(
                condition=one_of("reason", ReportReason.values),
                name="exchange_report_reason_valid",
                violation_error_message="Motif de signalement inconnu.",
            ),
            models.CheckConstraint(
                condition=one_of("status", ReportStatus.values),
                name="exchange_report_status_valid",
                violation_error_message="État de signalement inconnu.",
            ),
            models.UniqueConstraint(
                fields=["listing", "reporter"],
                condition=Q(status="open"),
                name="exchange_report_one_open_per_person",
                violation_error_message="Vous avez déjà signalé cette annonce ; les animateur·rices vont "
                "l'examiner.",
            ),
        ]

    def __str__(self) -> str:
        return f"Signalement {self.pk} de l'annonce {self.listing_id}"
